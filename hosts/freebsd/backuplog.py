"""The backup wrapper's log on the storage host (pure, no Django).

    === nyiops-backup JOB start 2026-11-27T03:00:01Z
    <rsync --stats output, and any rsync error lines>
    === nyiops-backup JOB end 2026-11-27T03:12:44Z exit 0 snapshot tank/b/job@nyiops-... | -

A log may hold several runs; a run without its end line is still running (or was killed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hosts.freebsd import ParseError, parse_rsync_stats
from hosts.freebsd.rsync import RsyncStats

_START = re.compile(r"^=== nyiops-backup (?P<job>\S+) start (?P<at>\S+)\s*$")
_END = re.compile(
    r"^=== nyiops-backup (?P<job>\S+) end (?P<at>\S+) exit (?P<code>\d+)"
    r"(?: snapshot (?P<snapshot>\S+))?\s*$"
)


@dataclass(frozen=True)
class BackupLogRun:
    job: str
    started_at: datetime
    finished_at: datetime | None
    exit_code: int | None
    snapshot: str | None
    stats: RsyncStats | None


@dataclass(frozen=True)
class BackupLog:
    runs: tuple[BackupLogRun, ...]
    parse_errors: tuple[str, ...] = ()


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_backup_log(text: str) -> BackupLog:
    runs: list[BackupLogRun] = []
    errors: list[str] = []
    current: dict | None = None

    def close(end: re.Match | None):
        body = "\n".join(current["body"])
        try:
            stats = parse_rsync_stats(body) if body.strip() else None
        except ParseError as exc:
            errors.append(f"run started {current['start']:%Y-%m-%dT%H:%M:%SZ}: {exc}")
            stats = None
        code = int(end["code"]) if end else None
        if code is None and stats is not None:
            code = stats.exit_code
        snapshot = end["snapshot"] if end and end["snapshot"] not in (None, "-") else None
        runs.append(
            BackupLogRun(
                job=current["job"],
                started_at=current["start"],
                finished_at=_when(end["at"]) if end else None,
                exit_code=code,
                snapshot=snapshot,
                stats=stats,
            )
        )

    for number, line in enumerate(text.splitlines(), 1):
        start, end = _START.match(line), _END.match(line)
        if start:
            if current is not None:
                close(None)
            when = _when(start["at"])
            if when is None:
                errors.append(f"line {number}: bad start time {start['at']!r}")
                current = None
                continue
            current = {"job": start["job"], "start": when, "body": []}
        elif end:
            if current is None:
                errors.append(f"line {number}: end line without a start line")
                continue
            close(end)
            current = None
        elif current is not None:
            current["body"].append(line)
    if current is not None:
        close(None)
    if not runs and text.strip():
        errors.append("no '=== nyiops-backup JOB start' line found")
    return BackupLog(tuple(runs), tuple(errors))
