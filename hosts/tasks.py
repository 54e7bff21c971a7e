"""Poll pipeline tasks. Thin: claim, call the service, return a one-line summary.

Beat runs `dispatch_due_polls` every NYIOPS_DISPATCH_INTERVAL seconds. It claims hosts whose
`next_poll_at` is due with a conditional UPDATE (a claim token and a lease), and sends one
`poll_host` task per host. A duplicate or late delivery finds its token no longer current
and does nothing; a worker killed mid-poll leaves the claim to expire, and the next sweep
re-claims the host (acks_late + reject_on_worker_lost also redeliver the task itself).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hosts.findings import evaluate_stale_polls
from hosts.models import Host, MetricSample, PollRun
from hosts.polling import poll_host as run_poll
from hosts.signals import findings_updated
from nyiops.tasks import nyiops_task

POLL_LEASE = timedelta(seconds=60)  # > poll hard time limit, so a live poll keeps its claim
DISPATCH_BATCH = 2000


def claim_due_hosts(now=None, limit: int = DISPATCH_BATCH) -> list[tuple[int, str]]:
    """Claim hosts whose poll is due and whose previous claim (if any) has expired.

    Each claim is a conditional UPDATE matching the row's current claim token, so two
    dispatchers never claim the same host: the loser's UPDATE matches zero rows."""
    now = now or timezone.now()
    due = list(
        Host.objects.filter(enabled=True, next_poll_at__lte=now)
        .filter(Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=now))
        .values_list("pk", "poll_claim", "poll_interval")[:limit]
    )
    claimed = []
    for pk, old_claim, interval in due:
        token = str(uuid.uuid4())
        updated = Host.objects.filter(pk=pk, poll_claim=old_claim).update(
            poll_claim=token,
            poll_claimed_until=now + POLL_LEASE,
            next_poll_at=now + timedelta(seconds=interval),
        )
        if updated == 1:
            claimed.append((pk, token))
    return claimed


@nyiops_task(queue="poll", soft_time_limit=20, time_limit=30, retry=None)
def dispatch_due_polls() -> str:
    claimed = claim_due_hosts()
    spread = max(0.0, settings.NYIOPS_DISPATCH_INTERVAL)
    for pk, token in claimed:
        # Jitter inside one dispatch interval so a fleet due together is not polled in a
        # single burst; `expires` drops polls that a backlog would run too late.
        poll_host.apply_async(
            (pk, token),
            countdown=random.uniform(0, spread),
            expires=60,
        )
    return f"dispatched {len(claimed)} polls"


@nyiops_task(queue="poll", soft_time_limit=45, time_limit=55, retry=None)
def poll_host(host_id: int, claim: str) -> str:
    """Poll one host if `claim` is still its current claim. Not retried: the next sweep is
    the retry."""
    host = (
        Host.objects.select_related("credential")
        .filter(pk=host_id, poll_claim=claim, enabled=True)
        .first()
    )
    if host is None:
        return f"host {host_id}: stale claim, another poll owns it"
    try:
        outcome = run_poll(host, claim=claim)
    finally:
        # Release the lease so the next sweep need not wait for it to expire.
        Host.objects.filter(pk=host_id, poll_claim=claim).update(poll_claimed_until=None)
    return outcome.summary()


@nyiops_task(queue="poll", soft_time_limit=50, time_limit=60, retry=None)
def sweep_poll_health() -> str:
    """Judge staleness and close out poll runs whose worker died (status `lost`)."""
    now = timezone.now()
    lost = PollRun.objects.filter(
        status=PollRun.Status.RUNNING, started_at__lt=now - POLL_LEASE
    ).update(status=PollRun.Status.LOST, finished_at=now, error="worker stopped mid-poll")
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
