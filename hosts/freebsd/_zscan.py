"""The `scan:` (or legacy Solaris `scrub:`) block of zpool status, in every format seen."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Result, parse_size, to_number

_PCT_RE = re.compile(r"(\d{1,3}(?:\.\d{1,4})?)%\s+done")
_WITH_ERRORS_RE = re.compile(r"with (\d{1,20}) errors?")
_TO_GO_RE = re.compile(r"(\S+) to go")
_SINCE_RE = re.compile(r"\bsince\s+(.+?)\s*$", re.MULTILINE)
_ON_RE = re.compile(r"\bon\s+(\w{3}\s+\w{3}\s+\d+\s+[\d:]+\s+\d{4})")
_DONE_RE = re.compile(
    r"^(?:(?P<kind>scrub|resilver)\s+repaired|(?P<resilvered>resilvered))"
    r"(?:\s+\([^)]*\))?\s+(?P<amount>\S+)\s+in\s+(?P<duration>\S+)"
)
_LEGACY_RE = re.compile(r"^(?P<kind>scrub|resilver)\s+(?P<what>completed|stopped|in progress)")


@dataclass(frozen=True)
class Scan(Result):
    kind: str | None
    state: str | None
    progress_pct: float | None
    errors: int | None
    repaired_bytes: int | None = None
    duration: str | None = None
    to_go: str | None = None
    since: str | None = None
    finished_on: str | None = None
    text: str | None = None


NO_SCAN = Scan(None, None, None, None)


def _kind(first: str) -> str | None:
    words = first.split()
    if not words:
        return None
    if words[0] in ("scrub", "resilver", "resilvered") or first.startswith("error scrub"):
        return "resilver" if words[0].startswith("resilver") else "scrub"
    return None


def parse_scan(lines: list[str]) -> Scan:
    """Read the scan lines (first line after `scan:` plus its continuation lines).

    Formats: `none requested`; `scrub repaired 0B in 00:00:05 with 0 errors on <date>`;
    `resilvered 1.49T in 14:11:00 with 0 errors on <date>`; `scrub in progress since <date>` /
    `resilver in progress since <date>` with either the old `641M scanned out of 781M ...` /
    `640M resilvered, 82.04% done` or the OpenZFS 0.8+ `... issued at ...` / `0B repaired,
    16.91% done, 00:00:04 to go` continuation lines; `scrub canceled on <date>`; `scrub paused
    since <date>`; Solaris `scrub completed after 0h0m with 0 errors on <date>`.
    """
    text = "\n".join(line.strip() for line in lines).strip()
    if not text:
        return NO_SCAN
    first = text.split("\n", 1)[0]
    kind = _kind(first)
    state: str | None = None
    pct = _PCT_RE.search(text)
    progress = float(pct.group(1)) if pct else None
    werr = _WITH_ERRORS_RE.search(text)
    errors = int(werr.group(1)) if werr else None
    to_go = _TO_GO_RE.search(text)
    since = _SINCE_RE.search(first)
    on = _ON_RE.search(first)
    repaired: int | None = None
    duration: str | None = None
    done = _DONE_RE.match(first)
    legacy = _LEGACY_RE.match(first)
    if first.startswith("none requested"):
        kind = None
    elif done:
        state = "finished"
        duration = done.group("duration")
        if done.group("kind"):
            repaired = parse_size(done.group("amount"))
    elif " in progress" in first:
        state = "in_progress"
    elif " canceled" in first or (legacy and legacy.group("what") == "stopped"):
        state = "canceled"
    elif " paused" in first:
        state = "paused"
    elif legacy and legacy.group("what") == "completed":
        state = "finished"
        after = re.search(r"after (\S+)", first)
        duration = after.group(1) if after else None
    if state == "in_progress":
        rep = re.search(r"(\S+) repaired,", text)
        repaired = parse_size(rep.group(1)) if rep else None
        # Solaris: "scrub in progress for 0h1m, 12.34% done, 0h5m to go"
        if progress is None:
            alt = re.search(r"(\d{1,3}(?:\.\d+)?)% done", text)
            progress = to_number(alt.group(1)) if alt else None
    return Scan(
        kind=kind,
        state=state,
        progress_pct=progress,
        errors=errors,
        repaired_bytes=repaired,
        duration=duration,
        to_go=to_go.group(1) if to_go and state == "in_progress" else None,
        since=since.group(1) if since and state in ("in_progress", "paused") else None,
        finished_on=on.group(1) if on and state in ("finished", "canceled") else None,
        text=text,
    )
