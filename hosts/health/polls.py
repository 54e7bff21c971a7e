"""Health rule for polls that stopped happening (workers or beat down) (pure)."""

from __future__ import annotations

from datetime import datetime

from hosts.health.state import Finding, HostView
from hosts.health.verdicts import DEFAULT_THRESHOLDS, WARNING, Thresholds, poll_is_stale


def evaluate_poll_stale(
    h: HostView,
    last_poll_at: datetime | None,
    interval: int,
    now: datetime,
    t: Thresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """Polls are not happening at all (workers or beat down): the data shown is old."""
    if not poll_is_stale(last_poll_at, interval, now, t):
        return []
    when = f"last polled {last_poll_at:%H:%M:%S}"
    return [
        Finding(
            "poll_stale",
            WARNING,
            f"host:{h.id}",
            f"poll_stale:host:{h.name}",
            h.name,
            f"{h.name}: data is stale ({when}; expected every {interval} s)",
            host_id=h.id,
        )
    ]
