"""Dispatching a command line to the command table (registry.py); one module per family
registers its commands there.

A command is ``fn(ctx, args, stdin) -> (stdout, stderr, rc)``; ``dispatch`` runs it for one
host and applies the output faults (`garbage CMD`, `truncate CMD`).
"""

from __future__ import annotations

import random

from ..shell import Shell

# Importing the family modules registers their commands in the table.
from . import haproxy, jails, net, storage, system, zfs  # noqa: F401
from .registry import TABLE, Ctx


def _matches(argv: list[str], cmd: str) -> bool:
    words = cmd.split()
    return argv[: len(words)] == words


def junk(seed: str, size: int) -> str:
    rnd = random.Random(seed)
    alphabet = "abcdefXYZ0123456789#@%&*()[]{}<>!?~^|\\/=+-_;:,.\x1b\x07\t "
    lines = []
    for _ in range(max(3, size // 60)):
        lines.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(5, 70))))
    return "\n".join(lines) + "\n"


def dispatch(fleet, name: str, argv: list[str], stdin: str, env: dict) -> tuple[str, str, int]:
    fn = TABLE.get(argv[0])
    if fn is None:
        return "", f"sh: {argv[0]}: not found\n", 127
    ctx = Ctx(fleet, name, fleet.hosts[name], env, fleet.now())
    out, err, rc = fn(ctx, argv[1:], stdin)
    for f in fleet.host_faults(name):
        if f["kind"] == "garbage" and _matches(argv, f["args"][0]):
            out = junk(f"{name}{argv}{int(ctx.now)}", len(out) + 200)
        elif f["kind"] == "truncate" and _matches(argv, f["args"][0]):
            out = out[: len(out) * 2 // 5]
    return out, err, rc


def run(fleet, name: str, command_line: str) -> tuple[str, str, int]:
    """Run one exec string on host ``name`` (the SSH server and `fleetsim exec` use this)."""
    sh = Shell(
        lambda argv, stdin, env: dispatch(fleet, name, argv, stdin, env),
        {
            "PATH": "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
            "HOME": "/home/nyiops",
            "USER": "nyiops",
            "SHELL": "/bin/sh",
        },
    )
    rc = sh.run(command_line)
    return "".join(sh.out), "".join(sh.err), rc
