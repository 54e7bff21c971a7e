"""Poll pipeline tasks. Thin: claim, call the service, return a one-line summary.

Beat runs `dispatch_due_polls` every NYIOPS_DISPATCH_INTERVAL seconds. It claims hosts whose
`next_poll_at` is due with a conditional UPDATE (a claim token and a lease), and sends one
`poll_hosts` task per batch of NYIOPS_POLL_BATCH hosts (`poll_host` polls a single one). A
duplicate or late delivery finds its token no longer current and does nothing; a worker
killed mid-poll leaves the claim to expire, and the next sweep re-claims the host
(acks_late + reject_on_worker_lost also redeliver the task itself).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hosts.health.store import evaluate_stale_polls
from hosts.models import Host, MetricSample, PollRun
from hosts.polling.run import poll_claimed, poll_claimed_batch
from hosts.signals import findings_updated
from nyiops.tasks import nyiops_task

# > the poll's hard time limit, so a live poll keeps its claim; a dead one's claim expires.
POLL_LEASE = timedelta(seconds=settings.NYIOPS_POLL_LEASE_SECONDS)
DISPATCH_BATCH = 2000


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


def send_polls(claimed: list[tuple[int, str]], *, spread: float) -> int:
    """Send the claimed polls in batches of NYIOPS_POLL_BATCH, over one broker connection.

    Batch i starts after a delay spread evenly inside `spread` seconds, so a fleet due
    together is not polled in one burst; `expires` drops polls that a backlog would run
    too late (the next sweep claims them again). Returns the number of tasks sent."""
    size = max(1, settings.NYIOPS_POLL_BATCH)
    batches = [claimed[i : i + size] for i in range(0, len(claimed), size)]
    with poll_hosts.app.producer_or_acquire() as producer:
        for i, batch in enumerate(batches):
            countdown = spread * i / len(batches) if spread > 0 else 0
            poll_hosts.apply_async((batch,), countdown=countdown, expires=60, producer=producer)
    return len(batches)


@nyiops_task(queue="poll", soft_time_limit=20, time_limit=30, retry=None)
def dispatch_due_polls() -> str:
    claimed = claim_due_hosts()
    tasks = send_polls(claimed, spread=max(0.0, settings.NYIOPS_DISPATCH_INTERVAL))
    return f"dispatched {len(claimed)} polls in {tasks} tasks"


@nyiops_task(queue="poll", soft_time_limit=45, time_limit=55, retry=None)
def poll_hosts(claims: list[list]) -> str:
    """Poll a batch of claimed hosts ([host_id, claim] pairs), side by side. Not retried:
    the next sweep is the retry."""
    summaries = poll_claimed_batch([(int(pk), str(token)) for pk, token in claims])
    stale = sum("stale claim" in s for s in summaries)
    return f"{len(summaries)} polls ({stale} stale claims): " + "; ".join(summaries)[:500]


@nyiops_task(queue="poll", soft_time_limit=45, time_limit=55, retry=None)
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


@nyiops_task(queue="poll", soft_time_limit=50, time_limit=60, retry=None)
def sweep_poll_health() -> str:
    """Judge staleness and record polls lost with their worker."""
    now = timezone.now()
    lost = record_lost_polls(now)
    with transaction.atomic():
        scopes = evaluate_stale_polls(now=now)
    if scopes:
        findings_updated.send(sender=Host, scopes=scopes)
    return f"{lost} lost poll runs; {len(scopes)} stale scopes changed"


@nyiops_task(queue="poll", soft_time_limit=50, time_limit=60, retry=None)
def prune_history() -> str:
    cutoff = timezone.now() - settings.NYIOPS_METRICS_RETENTION
    metrics, _ = MetricSample.objects.filter(at__lt=cutoff).delete()
    runs, _ = PollRun.objects.filter(started_at__lt=cutoff, events__isnull=True).delete()
    return f"pruned {metrics} metric samples, {runs} poll runs"
