"""The registry of operation kinds: one module per kind family under operations/actions/.

Adding a kind: write a subclass of `operations.actions.base.Action` in a module here, decorate
it with `@register`, and list the module in `MODULES`. Nothing else in the engine changes.

Must not: hold logic of any kind (it only maps names to Action instances)."""

from __future__ import annotations

import importlib

from operations.actions.base import Action

MODULES = ["carp", "haproxy", "pf", "storage", "jails"]
_REGISTRY: dict[str, Action] = {}


def register(cls: type[Action]) -> type[Action]:
    if cls.kind in _REGISTRY and type(_REGISTRY[cls.kind]) is not cls:
        raise ValueError(f"operation kind {cls.kind!r} registered twice")
    _REGISTRY[cls.kind] = cls()
    return cls


def load_all() -> None:
    for name in MODULES:
        importlib.import_module(f"operations.actions.{name}")


def get(kind: str) -> Action:
    if not _REGISTRY:
        load_all()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise KeyError(f"unknown operation kind {kind!r}; known: {', '.join(kinds())}") from None


def kinds() -> list[str]:
    if not _REGISTRY:
        load_all()
    return sorted(_REGISTRY)


def all_actions() -> list[Action]:
    return [get(k) for k in kinds()]
