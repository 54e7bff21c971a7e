"""The command table: one module per family registers its commands here.

A command is ``fn(ctx, args, stdin) -> (stdout, stderr, rc)``; ``dispatch`` runs it for one
host and applies the output faults (`garbage CMD`, `truncate CMD`).
"""

from __future__ import annotations

from .. import vfs
from ..shell import Shell
from . import files, haproxy, jails, net, storage, system, zfs  # noqa: F401 - registers them
from .base import TABLE, Ctx, command, dispatch, usage

__all__ = ["TABLE", "Ctx", "command", "dispatch", "run", "usage"]


def run(fleet, name: str, command_line: str, stdin: str = "") -> tuple[str, str, int]:
    """Run one exec string on host ``name`` (the SSH server and `fleetsim exec` use this);
    ``stdin`` is what the client sent on the channel before EOF."""
    sh = Shell(
        lambda argv, stdin, env: dispatch(fleet, name, argv, stdin, env),
        {
            "PATH": "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
            "HOME": "/home/nyiops",
            "USER": "nyiops",
            "SHELL": "/bin/sh",
        },
        fs=vfs.View(fleet, name),
        stdin=stdin,
    )
    rc = sh.run(command_line)
    return "".join(sh.out), "".join(sh.err), rc
