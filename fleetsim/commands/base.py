"""The command registry and what every command module shares: ``@command`` registers a
function ``fn(ctx, args, stdin) -> (stdout, stderr, rc)``, ``Ctx`` is one call's view of the
fleet, ``dispatch`` runs one argv on one host and applies the output faults.

Imports no command module (they import it), so registration has no import cycle."""

from __future__ import annotations

import random
from dataclasses import dataclass

TABLE: dict = {}


def command(*names):
    def register(fn):
        for n in names:
            TABLE[n] = fn
        return fn

    return register


@dataclass
class Ctx:
    fleet: object
    name: str
    host: dict
    env: dict
    now: float

    def write(self) -> None:
        """The command changed the host: mark it for saving."""
        self.fleet.mark(self.name)


def usage(text: str, rc: int = 1) -> tuple[str, str, int]:
    return "", text if text.endswith("\n") else text + "\n", rc


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
