"""The command table: one module per family registers its commands here.

A command is ``fn(ctx, args, stdin) -> (stdout, stderr, rc)``; ``dispatch`` runs it for one
host and applies the output faults (`garbage CMD`, `truncate CMD`).
"""

from __future__ import annotations

from . import (  # noqa: F401 - importing registers their commands
    files,
    haproxy,
    jails,
    net,
    power,
    procs,
    service,
    storage,
    system,
    zfs,
)
from .registry import TABLE, Ctx, command, dispatch, run_line, run_session, usage

__all__ = ["TABLE", "Ctx", "command", "dispatch", "run", "run_session", "usage"]


def run(fleet, name: str, command_line: str, stdin: str = "") -> tuple[str, str, int]:
    """Run one exec string on host ``name`` (the SSH server and `fleetsim exec` use this);
    ``stdin`` is what the client sent on the channel before EOF."""
    return run_line(fleet, name, command_line, stdin)
