"""The hosts widget: hosts unreachable, stale, never polled or waiting for a host
key decision, and the fleet's freshness counts (read side, fixed query count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from hosts.dashboard.common import LIST_LIMIT, Filters, digest, host_filter
from hosts.health.verdicts import configured_thresholds, freshness, host_verdict
from hosts.models import (
    Host,
)


@dataclass(frozen=True)
class HostRow:
    id: int
    name: str
    customer: str
    freshness: str
    reason: str
    last_success_at: datetime | None
    key_offered: bool
    tone: str = ""  # the judge's tone for this host on its own (health/verdicts.py)
    label: str = ""


def hosts_attention(f: Filters, known: str | None = None) -> dict:
    """Hosts unreachable, stale, never polled or with a host key waiting for a decision,
    plus the fleet's freshness counts for the status line. Two queries."""
    now = timezone.now()
    t = configured_thresholds()
    rows = (
        Host.objects.filter(host_filter(f))
        .filter(enabled=True)
        .values_list(
            "id",
            "name",
            "customer__name",
            "reachability",
            "reachability_reason",
            "last_success_at",
            "poll_interval",
            "offered_key_seen_at",
        )
        .order_by("name")
        .distinct()
    )
    counts = {"ok": 0, "stale": 0, "unreachable": 0, "new": 0, "disabled": 0}
    attention = []
    newest = None
    for pk, name, customer, reach, reason, last_ok, interval, offered in rows:
        state = freshness(reach, last_ok, interval, now, t)
        counts[state] += 1
        if last_ok and (newest is None or last_ok > newest):
            newest = last_ok
        if state != "ok" or offered:
            if state == "stale":
                reason = f"no good poll for over {t.poll_stale_intervals} intervals ({interval}s)"
            verdict = host_verdict(reach, state)
            attention.append(
                HostRow(
                    pk, name, customer or "", state, reason, last_ok, bool(offered),
                    verdict.tone, verdict.text,
                )
            )  # fmt: skip
    attention.sort(key=lambda r: (r.freshness != "unreachable", r.freshness != "stale", r.name))
    if f.health == "ok":
        attention = []
    total = sum(counts.values())
    return {
        "hosts": attention[:LIST_LIMIT],
        "more": max(len(attention) - LIST_LIMIT, 0),
        "counts": counts,
        "total": total,
        "newest_poll": newest,
        "generated_at": now,
        "version": digest(attention, counts),
    }
