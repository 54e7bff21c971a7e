"""The command table and what a command gets: `@command("name")` registers a function
``fn(ctx, args, stdin) -> (stdout, stderr, rc)``. A leaf module, so the family modules
import it without importing the package that loads them (no import cycle)."""

from __future__ import annotations

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
