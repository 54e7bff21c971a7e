"""The hand-over from an approved jail request to the operations engine.

Owns the mapping request -> operation (kind, parameters) and operation progress -> the
request's status in customer words. It must not run commands itself: the engine plans,
locks, runs, verifies and rolls back; this module only asks for an operation and reads it.
"""

from __future__ import annotations

from django.apps import apps


def engine_available() -> bool:
    return apps.is_installed("operations")


def start(req, user) -> int | None:
    """Ask the engine for the operation that provisions `req`; its id, or None while the
    engine is not installed (the request then waits as approved)."""
    if not engine_available():
        return None
    raise NotImplementedError("operations engine integration lands with the engine")
