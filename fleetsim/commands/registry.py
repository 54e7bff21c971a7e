"""The command registry and what every command module shares: ``@command`` registers a
function ``fn(ctx, args, stdin) -> (stdout, stderr, rc)``, ``Ctx`` is one call's view of the
fleet, ``dispatch`` runs one argv on one host with the command faults (fail-command,
hang-command, drop-after-command) and the output faults (garbage, truncate), and
``run_line``/``run_session`` run a whole exec string through the host's shell.

Imports no command module (they import it), so registration has no import cycle."""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass

from ..shell import LINE_KEY, Shell
from ..vfs import View

TABLE: dict = {}
COMMAND_FAULTS = ("fail-command", "hang-command", "drop-after-command")


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


class Hang(Exception):
    """`hang-command`: this command never finishes (nothing after it runs)."""


class Drop(Exception):
    """`drop-after-command`: the command ran; the connection drops before any answer."""


def matches(pattern: str, argv: list[str], line: str) -> bool:
    """A command fault's PATTERN: its words start the command (redirections included, as
    written: `cat > /etc/x.conf`), or, with * ? [ in it, a glob over the whole command."""
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(line, pattern) or fnmatch.fnmatchcase(" ".join(argv), pattern)
    words = pattern.split()
    return bool(words) and (argv[: len(words)] == words or line.split()[: len(words)] == words)


def dispatch(fleet, name: str, argv: list[str], stdin: str, env: dict) -> tuple[str, str, int]:
    redirs = env.pop(LINE_KEY, None) or []
    drop = ""
    for f in fleet.host_faults(name):
        kind = f["kind"]
        if kind not in COMMAND_FAULTS:
            continue
        line = " ".join([*argv, *redirs])
        if not matches(f["args"][0], argv, line):
            continue
        if kind == "fail-command":
            message = " ".join(f["args"][1:]) or f"{argv[0]}: failed (fault fail-command)"
            return "", message + "\n", 1
        if kind == "hang-command":
            raise Hang(line)
        drop = line
    fn = TABLE.get(argv[0])
    if fn is None:
        return "", f"sh: {argv[0]}: not found\n", 127
    ctx = Ctx(fleet, name, fleet.hosts[name], env, fleet.now())
    out, err, rc = fn(ctx, argv[1:], stdin)
    if drop:
        raise Drop(drop)
    for f in fleet.host_faults(name):
        if f["kind"] == "garbage" and _matches(argv, f["args"][0]):
            out = junk(f"{name}{argv}{int(ctx.now)}", len(out) + 200)
        elif f["kind"] == "truncate" and _matches(argv, f["args"][0]):
            out = out[: len(out) * 2 // 5]
    return out, err, rc


ENV = {
    "PATH": "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
    "HOME": "/home/nyiops",
    "USER": "nyiops",
    "SHELL": "/bin/sh",
}


def shell_for(fleet, name: str, stdin: str = "") -> Shell:
    return Shell(
        lambda argv, sin, env: dispatch(fleet, name, argv, sin, env),
        ENV,
        fs=View(fleet, name),
        stdin=stdin,
    )


def run_line(fleet, name: str, command_line: str, stdin: str = "") -> tuple[str, str, int]:
    """Run one exec string; a hung command answers as `timeout` would (124)."""
    out, err, rc, _event = run_session(fleet, name, command_line, stdin)
    return out, err, rc


def run_session(fleet, name: str, command_line: str, stdin: str = ""):
    """(stdout, stderr, rc, event): event is None, "hang" (rc 124, what ran before it is
    in the output) or "drop" (the connection must drop without an answer)."""
    sh = shell_for(fleet, name, stdin)
    try:
        rc = sh.run(command_line)
    except Hang:
        return "".join(sh.out), "".join(sh.err), 124, "hang"
    except Drop:
        return "", "", -1, "drop"
    return "".join(sh.out), "".join(sh.err), rc, None
