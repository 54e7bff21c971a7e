"""Poll pipeline tasks. Thin: claim, call the service, return a one-line summary.

Beat runs `dispatch_due_polls` every NYIOPS_DISPATCH_INTERVAL seconds. It claims hosts whose
`next_poll_at` is due with a conditional UPDATE (a claim token and a lease), and sends one
`poll_hosts` task per batch of NYIOPS_POLL_BATCH hosts (`poll_host` polls a single one). A
duplicate or late delivery finds its token no longer current and does nothing; a worker
killed mid-poll leaves the claim to expire, and the next sweep re-claims the host
(acks_late + reject_on_worker_lost also redeliver the task itself).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from hosts.dashboard import generation as dashboard_generation
from hosts.health.store import evaluate_stale_polls
from hosts.models import Host, MetricSample, PollRun
from hosts.polling import shards
from hosts.polling.run import (
    POLL_HARD_LIMIT_SECONDS,
    POLL_SOFT_LIMIT_SECONDS,
    poll_claimed,
    poll_claimed_batch,
)
from hosts.signals import findings_updated
from nyiops.deadline import remaining
from nyiops.tasks import nyiops_task

POLL_LEASE = timedelta(seconds=settings.NYIOPS_POLL_LEASE_SECONDS)
DISPATCH_BATCH = 2000
# kombu wraps what the transport raises; a connection error it has not wrapped is caught too.
BROKER_ERRORS = (BrokerOperationalError, OSError)
log = logging.getLogger(__name__)


def claim_due_hosts(now=None, limit: int = DISPATCH_BATCH) -> list[tuple[int, str]]:
    """Claim hosts whose poll is due and whose previous claim (if any) has expired.

    One conditional UPDATE stamps the whole batch with a fresh claim token; rows that
    another dispatcher claimed in between no longer match its condition, so reading back
    the rows carrying our token tells exactly which hosts are ours."""
    now = now or timezone.now()
    claimable = Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=now)
    due = list(
        Host.objects.filter(claimable, enabled=True, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return []
    token = str(uuid.uuid4())
    # The claim condition is repeated in the UPDATE: between the SELECT and here another
    # dispatcher may have claimed some of these rows, and those must not be taken over.
    Host.objects.filter(claimable, pk__in=due, enabled=True).update(
        poll_claim=token, poll_claimed_until=now + POLL_LEASE
    )
    claimed = list(Host.objects.filter(poll_claim=token).values_list("pk", "poll_interval"))
    # Next due time per host; hosts share a few interval values, so few UPDATEs.
    by_interval: dict[int, list[int]] = {}
    for pk, interval in claimed:
        by_interval.setdefault(interval, []).append(pk)
    for interval, pks in by_interval.items():
        Host.objects.filter(pk__in=pks).update(next_poll_at=now + timedelta(seconds=interval))
    return [(pk, token) for pk, _ in claimed]


def release_unpublished(claims: list[tuple[int, str]]) -> int:
    """Give back claims whose poll message never reached the broker: the hosts are due again
    at once, so the first sweep after the broker returns polls them, not one a lease later.
    Conditional on the token, so a claim that somehow moved on is left alone."""
    released = 0
    for pk, token in claims:
        released += Host.objects.filter(pk=pk, poll_claim=token).update(
            poll_claimed_until=None, next_poll_at=timezone.now()
        )
    return released


def poll_batches(claimed: list[tuple[int, str]]) -> list[tuple[str, list[tuple[int, str]]]]:
    """(queue, batch) pairs: each host goes to its shard's queue among the live shards
    (host affinity, hosts.polling.shards; the shared `poll` queue when none is live), in
    batches of NYIOPS_POLL_BATCH per queue."""
    size = max(1, settings.NYIOPS_POLL_BATCH)
    return [
        (queue, hosts[i : i + size])
        for queue, hosts in shards.route(claimed, shards.live_shards()).items()
        for i in range(0, len(hosts), size)
    ]


def send_polls(claimed: list[tuple[int, str]], *, spread: float) -> int:
    """Send the claimed polls in batches (`poll_batches`), over one broker connection.

    Batch i starts after a delay spread evenly inside `spread` seconds, so a fleet due
    together is not polled in one burst; `expires` drops polls that a backlog would run
    too late (the next sweep claims them again). Returns the number of tasks sent. When the
    broker refuses (its publish retry policy already gave up, fast), the claims of this
    batch and every later one are released and the broker error is raised."""
    batches = poll_batches(claimed)
    sent = 0
    try:
        with poll_hosts.app.producer_or_acquire() as producer:
            for i, (queue, batch) in enumerate(batches):
                countdown = spread * i / len(batches) if spread > 0 else 0
                poll_hosts.apply_async(
                    (batch,), queue=queue, countdown=countdown, expires=60, producer=producer
                )
                sent += 1
    except BROKER_ERRORS as exc:
        unsent = [claim for _, batch in batches[sent:] for claim in batch]
        raise UnsentPolls(exc, len(claimed) - len(unsent), release_unpublished(unsent)) from exc
    return len(batches)


class UnsentPolls(Exception):
    """The broker refused part of a dispatch; the unsent claims were released."""

    def __init__(self, error: Exception, sent: int, released: int):
        super().__init__(f"broker unavailable ({error}): released {released} unsent poll claims")
        self.sent, self.released = sent, released


@nyiops_task(queue="poll", soft_time_limit=20, time_limit=30, retry=None)
def dispatch_due_polls() -> str:
    # A shard gone with its worker first: its claimed hosts become due again, so this very
    # dispatch sends them to a live shard.
    shards.reap_dead_shards()
    claimed = claim_due_hosts()
    try:
        tasks = send_polls(claimed, spread=max(0.0, settings.NYIOPS_DISPATCH_INTERVAL))
    except UnsentPolls as exc:
        log.warning("%s", exc)
        return f"dispatched {exc.sent} polls; broker unavailable, released {exc.released} claims"
    return f"dispatched {len(claimed)} polls in {tasks} tasks"


# Each host of a batch is polled on its own poll thread under its own deadline
# (hosts.polling.run), so a batch ends by the slowest host's limit, not the sum.
@nyiops_task(
    queue="poll",
    soft_time_limit=POLL_SOFT_LIMIT_SECONDS,
    time_limit=POLL_HARD_LIMIT_SECONDS,
    retry=None,
)
def poll_hosts(claims: list[list]) -> str:
    """Poll a batch of claimed hosts ([host_id, claim] pairs), side by side. Not retried:
    the next sweep is the retry."""
    summaries = poll_claimed_batch([(int(pk), str(token)) for pk, token in claims])
    stale = sum("stale claim" in s for s in summaries)
    return f"{len(summaries)} polls ({stale} stale claims): " + "; ".join(summaries)[:500]


@nyiops_task(
    queue="poll",
    soft_time_limit=POLL_SOFT_LIMIT_SECONDS,
    time_limit=POLL_HARD_LIMIT_SECONDS,
    retry=None,
)
def poll_host(host_id: int, claim: str) -> str:
    """Poll one host if `claim` is still its current claim. Not retried: the next sweep is
    the retry."""
    return poll_claimed(host_id, claim)


def record_lost_polls(now=None) -> int:
    """A claim whose lease ran out without being released belongs to a poll whose worker
    died (or hung past its hard limit): record it as a `lost` PollRun, once, and free the
    host for the next sweep."""
    now = now or timezone.now()
    lost = 0
    for pk, claim, claimed_until in Host.objects.filter(poll_claimed_until__lt=now).values_list(
        "pk", "poll_claim", "poll_claimed_until"
    ):
        with transaction.atomic():
            # Conditional on the same expired claim: a poll that finished after all, or a
            # second sweep, finds nothing to update and records nothing twice.
            if Host.objects.filter(pk=pk, poll_claim=claim, poll_claimed_until__lt=now).update(
                poll_claimed_until=None
            ):
                PollRun.objects.create(
                    host_id=pk,
                    claim=claim,
                    started_at=claimed_until - POLL_LEASE,
                    finished_at=now,
                    status=PollRun.Status.LOST,
                    error="the worker stopped mid-poll (claim expired unreleased)",
                )
                lost += 1
    return lost


# Stale scopes are handed to the listeners this many at a time. A fleet whose polls lag
# (an overloaded machine) can turn hundreds stale at once, and one sync of them all held
# its transaction for 6.6 s at 1,000 hosts: an urgent poll's new alert that the sync
# touched got its page sent only at that commit (BENCHMARKS.md, failover at 1,000 hosts).
STALE_SCOPES_PER_SIGNAL = 50


@nyiops_task(queue="poll", soft_time_limit=50, time_limit=60, retry=None)
def sweep_poll_health() -> str:
    """Judge staleness and record polls lost with their worker."""
    now = timezone.now()
    lost = record_lost_polls(now)
    with transaction.atomic():
        scopes = evaluate_stale_polls(now=now)
    for i in range(0, len(scopes), STALE_SCOPES_PER_SIGNAL):
        findings_updated.send(sender=Host, scopes=scopes[i : i + STALE_SCOPES_PER_SIGNAL])
    return f"{lost} lost poll runs; {len(scopes)} stale scopes changed"


PRUNE_BATCH = 5000
PRUNE_MARGIN_SECONDS = 10


def delete_in_batches(queryset, batch: int = PRUNE_BATCH) -> int:
    """Delete in committed batches and stop with time to spare before the task's deadline:
    one huge DELETE that outlives the deadline would roll back whole, every hour, and the
    backlog would never shrink. The next run goes on where this one stopped."""
    deleted = 0
    while True:
        pks = list(queryset.values_list("pk", flat=True)[:batch])
        if not pks:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=pks).delete()[0]
        left = remaining()
        if left is not None and left < PRUNE_MARGIN_SECONDS:
            return deleted


@nyiops_task(queue="poll", soft_time_limit=50, time_limit=60, retry=None)
def prune_history() -> str:
    cutoff = timezone.now() - settings.NYIOPS_METRICS_RETENTION
    metrics = delete_in_batches(MetricSample.objects.filter(at__lt=cutoff))
    # A poll run that recorded state changes is the history of those events: kept with them.
    runs = delete_in_batches(PollRun.objects.filter(started_at__lt=cutoff, events__isnull=True))
    folded = dashboard_generation.fold_idle_slots()
    return f"pruned {metrics} metric samples, {runs} poll runs; folded {folded} generation rows"
