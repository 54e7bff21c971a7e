"""gmirror(8) `status` (also `-s`) and `list` output."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Result, split_lines, to_int

# A component at the end of a status line: "ada0 (SYNCHRONIZING, 64%)" or just "ad0p2" (old
# releases print no state).
_PAREN_RE = re.compile(r"^(?P<head>.*?)\s*\((?P<paren>[^()]*)\)\s*$")
_PCT_RE = re.compile(r"^(\d{1,3})%$")


@dataclass(frozen=True)
class StatusComponent(Result):
    name: str
    state: str | None
    progress: int | None
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusMirror(Result):
    name: str
    status: str
    components: tuple[StatusComponent, ...]
    provider: str | None = None


@dataclass(frozen=True)
class GmirrorStatusResult(Result):
    mirrors: tuple[StatusMirror, ...]
    parse_errors: tuple[str, ...] = ()


def _short_name(provider: str) -> str:
    """'mirror/gm0' → 'gm0' (the class prefix is whatever was printed, typos included)."""
    return provider.split("/", 1)[1] if "/" in provider and provider[-1] != "/" else provider


def _component(tokens: list[str], paren: str | None) -> StatusComponent:
    state: str | None = None
    progress: int | None = None
    extra: list[str] = []
    if paren is not None:
        for part in (p.strip() for p in paren.split(",")):
            pm = _PCT_RE.match(part)
            if pm:
                progress = int(pm.group(1))
            elif state is None and part:
                state = part
            elif part:
                extra.append(part)
    return StatusComponent(" ".join(tokens), state, progress, tuple(extra))


def parse_gmirror_status(text: str) -> GmirrorStatusResult:
    """Parse `gmirror status` / `gmirror status -s`.

    A line with three or more fields starts a mirror (`mirror/gm0  COMPLETE  ada0 (ACTIVE)`);
    a single-field line continues the previous mirror's component list. `-s` repeats the mirror
    name on every line; consecutive lines with the same name are merged. Mirror names drop the
    provider's class prefix (`mirror/gm0` → `gm0`); `provider` keeps it as printed.
    """
    errors: list[str] = []
    mirrors: list[dict] = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        pm = _PAREN_RE.match(line)
        head, paren = (pm.group("head"), pm.group("paren")) if pm else (line, None)
        tokens = head.split()
        if tokens[:3] == ["Name", "Status", "Components"]:
            continue
        if len(tokens) >= 3:
            provider, status, comp = tokens[0], tokens[1], tokens[2:]
            if mirrors and mirrors[-1]["provider"] == provider:
                target = mirrors[-1]
            else:
                target = {"provider": provider, "status": status, "components": []}
                mirrors.append(target)
            if comp != ["N/A"]:
                target["components"].append(_component(comp, paren))
        elif len(tokens) == 1 and mirrors and line[:1].isspace():
            mirrors[-1]["components"].append(_component(tokens, paren))
        else:
            errors.append(f"line {lineno}: unrecognised gmirror status line")
    return GmirrorStatusResult(
        tuple(
            StatusMirror(_short_name(m["provider"]), m["status"], tuple(m["components"]),
                         m["provider"])
            for m in mirrors
        ),
        tuple(errors),
    )  # fmt: skip


@dataclass(frozen=True)
class ListComponent(Result):
    name: str
    state: str | None
    flags: tuple[str, ...]
    synchronized_pct: int | None
    priority: int | None = None
    genid: int | None = None
    syncid: int | None = None
    mediasize: int | None = None


@dataclass(frozen=True)
class ListMirror(Result):
    name: str
    state: str | None
    components_count: int | None
    balance: str | None
    components: tuple[ListComponent, ...]
    flags: tuple[str, ...] = ()
    slice: int | None = None
    genid: int | None = None
    syncid: int | None = None
    providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class GmirrorListResult(Result):
    mirrors: tuple[ListMirror, ...]
    parse_errors: tuple[str, ...] = ()


def _flags(value: str | None) -> tuple[str, ...]:
    """'DIRTY, SYNCHRONIZING' → ('DIRTY', 'SYNCHRONIZING'); 'NONE' means no flags."""
    if not value:
        return ()
    return tuple(f.strip() for f in value.split(",") if f.strip() and f.strip() != "NONE")


def _list_component(d: dict[str, str]) -> ListComponent:
    sync = d.get("Synchronized", "").strip().rstrip("%")
    size = d.get("Mediasize", "").split()
    return ListComponent(
        name=d.get("Name", ""),
        state=d.get("State") or None,
        flags=_flags(d.get("Flags")),
        synchronized_pct=to_int(sync) if sync else None,
        priority=to_int(d.get("Priority")),
        genid=to_int(d.get("GenID")),
        syncid=to_int(d.get("SyncID")),
        mediasize=to_int(size[0]) if size else None,
    )


def _list_mirror(geom: dict, errors: list[str]) -> ListMirror:
    g = geom["fields"]
    name = g.get("Geom name") or ""
    if not name:
        errors.append(f"line {geom['line']}: geom without 'Geom name:'")
    return ListMirror(
        name=name,
        state=g.get("State") or None,
        components_count=to_int(g.get("Components")),
        balance=g.get("Balance") or None,
        components=tuple(_list_component(c) for c in geom["consumers"]),
        flags=_flags(g.get("Flags")),
        slice=to_int(g.get("Slice")),
        genid=to_int(g.get("GenID")),
        syncid=to_int(g.get("SyncID")),
        providers=tuple(p.get("Name", "") for p in geom["providers"]),
    )


def parse_gmirror_list(text: str) -> GmirrorListResult:
    """Parse `gmirror list [name]` (geom(8) list format).

    Each `Geom name:` starts a mirror whose `Key: value` lines fill State, Components, Balance,
    Flags...; `Providers:` / `Consumers:` are followed by numbered `N. Name: x` entries whose
    indented `Key: value` lines describe them. Consumers are the components: State (ACTIVE,
    SYNCHRONIZING...), Flags (`NONE` → []), `Synchronized: NN%` while rebuilding.
    """
    errors: list[str] = []
    geoms: list[dict] = []
    target: dict | None = None
    section: str | None = None
    for lineno, line in enumerate(split_lines(text), 1):
        stripped = line.strip()
        if not stripped:
            continue
        key, sep, value = stripped.partition(":")
        entry = re.match(r"^(\d+)\.\s+Name:\s*(.*)$", stripped)
        if key == "Geom name" and sep:
            geom = {"fields": {}, "providers": [], "consumers": [], "line": lineno}
            geoms.append(geom)
            target, section = geom["fields"], None
            target["Geom name"] = value.strip()
        elif not geoms:
            errors.append(f"line {lineno}: text before the first 'Geom name:'")
        elif stripped in ("Providers:", "Consumers:"):
            section = stripped[:-1].lower()
        elif entry and section is not None:
            target = {"Name": entry.group(2).strip()}
            geoms[-1][section].append(target)
        elif sep and target is not None:
            target[key.strip()] = value.strip()
        else:
            errors.append(f"line {lineno}: unrecognised gmirror list line")
    return GmirrorListResult(tuple(_list_mirror(g, errors) for g in geoms), tuple(errors))
