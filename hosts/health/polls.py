"""Health rule for polls that stopped happening (workers or beat down) (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hosts.health.state import Finding, HostView
from hosts.health.verdicts import DEFAULT_THRESHOLDS, WARNING, Thresholds


def evaluate_poll_stale(
    h: HostView,
    last_poll_at: datetime | None,
    interval: int,
    now: datetime,
    t: Thresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """Polls are not happening at all (workers or beat down): the data shown is old."""
    limit = timedelta(seconds=interval * t.poll_stale_intervals)
    # A host never polled yet shows as "not polled yet" on its own; staleness is about
    # data that stopped coming.
    if last_poll_at is None or now - last_poll_at <= limit:
        return []
    when = "never polled" if last_poll_at is None else f"last polled {last_poll_at:%H:%M:%S}"
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
