"""Pipeline instruments (prometheus-client): what the poller and the alert paging measure
as it happens. The apps call the `observe_*` functions with one line where they already
time things; `/metrics` (api app) exposes these with the current-state collector.

This module imports no app, owns no state beyond the instruments, and must never raise
into its caller: a metrics problem must not fail a poll or a page.

Process scope: instruments live in the process that observes (a Celery worker for polls).
With PROMETHEUS_MULTIPROC_DIR set (prometheus-client's multiprocess mode, a directory
shared by web and workers on one machine), /metrics aggregates every process."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, disable_created_metrics

log = logging.getLogger(__name__)
# The *_created series double every counter and histogram and nothing here reads them.
disable_created_metrics()

POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 45)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300)
PAGE_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

POLL_DURATION = Histogram(
    "nyiops_poll_duration_seconds", "Wall time of one host poll (SSH round trip and store).",
    buckets=POLL_BUCKETS,
)  # fmt: skip
POLL_LAG = Histogram(
    "nyiops_poll_lag_seconds",
    "From when a poll was due (claimed) to when its result was stored.",
    buckets=LAG_BUCKETS,
)
SSH_ERRORS = Counter(
    "nyiops_ssh_errors_total", "Polls that failed at the SSH layer, by error kind.", ["kind"]
)
PAGE_LATENCY = Histogram(
    "nyiops_page_latency_seconds",
    "From an alert opening to its first notification delivered.",
    buckets=PAGE_BUCKETS,
)
DELIVERIES = Counter(
    "nyiops_notification_deliveries_total",
    "Notification delivery attempts, by channel kind and result.",
    ["channel", "result"],
)


def observe_poll(
    duration_s: float, *, stored_at, next_due_at=None, interval_s: int = 0, ssh_error_kind=None
) -> None:
    """One poll ended. A claimed poll's host already carries its next due time (the due time
    it was claimed for + interval; now + interval after an outage, whose lag then reads
    short), so the due time is that minus the interval."""
    try:
        POLL_DURATION.observe(max(duration_s, 0.0))
        if next_due_at is not None:
            lag = (stored_at - next_due_at).total_seconds() + interval_s
            POLL_LAG.observe(max(lag, 0.0))
        if ssh_error_kind:
            SSH_ERRORS.labels(kind=ssh_error_kind).inc()
    except Exception:  # a broken metric must never fail a poll
        log.exception("could not record poll metrics")


def observe_delivery(channel_kind: str, ok: bool, page_latency_s: float | None) -> None:
    try:
        DELIVERIES.labels(channel=channel_kind, result="ok" if ok else "error").inc()
        if ok and page_latency_s is not None:
            PAGE_LATENCY.observe(max(page_latency_s, 0.0))
    except Exception:  # a broken metric must never fail a page
        log.exception("could not record delivery metrics")
