"""Poll pipeline tasks. Thin: claim, call the service, return a one-line summary.

Beat runs `dispatch_due_polls` every NYIOPS_DISPATCH_INTERVAL seconds. It claims hosts whose
`next_poll_at` falls before the next dispatch with a conditional UPDATE (a claim token and a
lease), and sends one `poll_hosts` task per batch of up to NYIOPS_POLL_BATCH hosts due close
together, to start at their due time (`poll_host` polls a single one). A
duplicate or late delivery finds its token no longer current and does nothing; a worker
killed mid-poll leaves the claim to expire, and the next sweep re-claims the host
(acks_late + reject_on_worker_lost also redeliver the task itself).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
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
# A batch starts at its earliest host's due time: its other hosts are polled at most this
# much before theirs. Wider batches cost fewer tasks (each ~2 ms of worker CPU), narrower
# ones poll closer to the due time.
BATCH_SPAN = timedelta(milliseconds=500)
# A poll message not started this long after its ETA is dropped: a backlog that late is
# better served by the next sweep's fresh claim than by polls that outlive their lease.
POLL_EXPIRES = timedelta(seconds=60)
# kombu wraps what the transport raises; a connection error it has not wrapped is caught too.
BROKER_ERRORS = (BrokerOperationalError, OSError)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DuePoll:
    """A claimed host and the time its poll is due (`next_poll_at` when it was claimed)."""

    host_id: int
    claim: str
    due_at: datetime


# Every host's polls fall on a grid of its own: this instant plus its phase plus whole
# intervals.
GRID_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def poll_phase(host_id: int, interval_s: int) -> timedelta:
    """Where in each interval a host's polls fall: its id hashed (Fibonacci hashing) evenly
    over the interval, as Prometheus offsets each target's scrapes. Hosts made due together
    (a fleet imported at once, a dead shard's hosts re-routed) are spread over one interval
    by their next due times instead of staying one burst each interval."""
    return timedelta(microseconds=(host_id * 2654435761 % 2**32) * interval_s * 10**6 // 2**32)


def next_due(
    due_at: datetime, interval_s: int, now: datetime, phase: timedelta = timedelta(0)
) -> datetime:
    """The due time after a poll due at `due_at`: the first slot of the host's grid
    (`GRID_EPOCH` + `phase` + whole intervals) at least half an interval after its due time,
    or after now when it ran late. On time, that is `due_at` + one interval, so the schedule
    keeps its phase instead of drifting by each dispatch's delay. A poll that ran late (an
    outage of the pollers or the database) skips the slots it missed rather than being
    repeated back to back, and keeps its phase rather than restarting from now: restarted
    from now, every host overdue together would be due together from then on, the whole
    fleet one burst each interval. A host off its grid (new, or made due at once) joins it."""
    if interval_s <= 0:
        return now
    interval = timedelta(seconds=interval_s)
    earliest = max(due_at, now) + interval / 2
    start = GRID_EPOCH + phase
    return start + -((start - earliest) // interval) * interval  # the first slot >= earliest


def claim_due_polls(
    now=None, *, within: timedelta = timedelta(0), limit: int = DISPATCH_BATCH
) -> list[DuePoll]:
    """Claim the hosts whose poll is due by `now + within` and whose previous claim (if any)
    has expired, in due order.

    One conditional UPDATE stamps the whole batch with a fresh claim token; rows that
    another dispatcher claimed in between no longer match its condition, so reading back
    the rows carrying our token tells exactly which hosts are ours. The lease runs from the
    latest due time a claim can carry (`now + within`), so it covers the wait until the
    poll starts as well as the poll. Each host's `next_poll_at` advances from its due time
    (`next_due`)."""
    now = now or timezone.now()
    claimable = Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=now)
    due = list(
        Host.objects.filter(claimable, enabled=True, next_poll_at__lte=now + within)
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return []
    token = str(uuid.uuid4())
    # The claim condition is repeated in the UPDATE: between the SELECT and here another
    # dispatcher may have claimed some of these rows, and those must not be taken over.
    Host.objects.filter(claimable, pk__in=due, enabled=True).update(
        poll_claim=token, poll_claimed_until=now + within + POLL_LEASE
    )
    claimed = list(
        Host.objects.filter(poll_claim=token)
        .order_by("next_poll_at", "pk")
        .values_list("pk", "poll_interval", "next_poll_at")
    )
    _set_next_due(
        [(next_due(due, every, now, poll_phase(pk, every)), pk) for pk, every, due in claimed]
    )
    return [DuePoll(pk, token, at) for pk, _, at in claimed]


def _set_next_due(rows: list[tuple[datetime, int]]) -> None:
    """Each claimed host's own next due time (phases make them all differ), in one statement
    on PostgreSQL: an UPDATE joined to the new values. bulk_update's CASE with one branch per
    host cost 130-280 ms of CPU for a 1,000-host dispatch (measured); one UPDATE per host,
    pipelined, 200+ ms of wall time."""
    if not rows:
        return
    table = connection.ops.quote_name(Host._meta.db_table)
    column = connection.ops.quote_name(Host._meta.get_field("next_poll_at").column)
    pk = connection.ops.quote_name(Host._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::timestamptz, %s::bigint)"] * len(rows))
            cursor.execute(
                # Identifiers from the model, quoted by the backend; values are parameters.
                f"UPDATE {table} SET {column} = v.due FROM (VALUES {values}) AS v(due, id) "  # noqa: S608
                f"WHERE {table}.{pk} = v.id",
                [p for row in rows for p in row],
            )
        else:
            cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", rows)  # noqa: S608


def claim_due_hosts(now=None, limit: int = DISPATCH_BATCH) -> list[tuple[int, str]]:
    """Claim the hosts due now, as (host id, claim) pairs: for callers that poll them at once
    (the dispatcher claims ahead, `claim_due_polls`)."""
    return [(p.host_id, p.claim) for p in claim_due_polls(now, limit=limit)]


def release_unpublished(polls: list[DuePoll]) -> int:
    """Give back claims whose poll message never reached the broker: each host is due again
    at its own due time (at once if that has passed), so the first sweep after the broker
    returns polls it, not one a lease later. Conditional on the token, so a claim that
    somehow moved on is left alone."""
    released = 0
    for poll in polls:
        released += Host.objects.filter(pk=poll.host_id, poll_claim=poll.claim).update(
            poll_claimed_until=None, next_poll_at=max(poll.due_at, timezone.now())
        )
    return released


def poll_batches(polls: list[DuePoll]) -> list[tuple[str, list[DuePoll]]]:
    """(queue, batch) pairs: each host goes to its shard's queue among the live shards
    (host affinity, hosts.polling.shards; the shared `poll` queue when none is live). A
    queue's hosts keep their due order and are cut into batches of at most NYIOPS_POLL_BATCH
    whose due times lie within BATCH_SPAN of the batch's first, so a batch started at its
    first host's due time polls none of them much early."""
    size = max(1, settings.NYIOPS_POLL_BATCH)
    in_due_order = sorted(polls, key=lambda p: p.due_at)
    due = {p.host_id: p for p in in_due_order}
    routed = shards.route([(p.host_id, p.claim) for p in in_due_order], shards.live_shards())
    batches: list[tuple[str, list[DuePoll]]] = []
    for queue, claims in routed.items():
        batch: list[DuePoll] = []
        for pk, _ in claims:
            poll = due[pk]
            if batch and (len(batch) >= size or poll.due_at - batch[0].due_at > BATCH_SPAN):
                batches.append((queue, batch))
                batch = []
            batch.append(poll)
        if batch:
            batches.append((queue, batch))
    return batches


def send_polls(polls: list[DuePoll], now=None) -> int:
    """Send the claimed polls in batches (`poll_batches`), over one broker connection.

    Each batch is sent with its first (earliest) host's due time as its ETA, so a host is
    polled when it is due rather than after the next dispatch and a spread; a batch already
    due starts at once. `expires` drops a poll that a backlog would start too late (the
    next sweep claims it again), counted from its start. Returns the number of tasks sent.
    When the broker refuses (its publish retry policy already gave up, fast), the claims of
    this batch and every later one are released and the broker error is raised."""
    now = now or timezone.now()
    batches = poll_batches(polls)
    sent = 0
    try:
        with poll_hosts.app.producer_or_acquire() as producer:
            for queue, batch in batches:
                start = max(now, batch[0].due_at)
                poll_hosts.apply_async(
                    ([(p.host_id, p.claim) for p in batch],),
                    queue=queue,
                    eta=start if start > now else None,
                    expires=start + POLL_EXPIRES,
                    producer=producer,
                )
                sent += 1
    except BROKER_ERRORS as exc:
        unsent = [poll for _, batch in batches[sent:] for poll in batch]
        raise UnsentPolls(exc, len(polls) - len(unsent), release_unpublished(unsent)) from exc
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
    # Hosts due before the next dispatch are claimed now and sent to start at their due
    # time: a host waits neither for a dispatch tick nor for a spread after it.
    now = timezone.now()
    within = timedelta(seconds=max(0.0, settings.NYIOPS_DISPATCH_INTERVAL))
    claimed = claim_due_polls(now, within=within)
    try:
        tasks = send_polls(claimed, now)
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
