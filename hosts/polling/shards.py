"""Host affinity: a host's polls go to one worker process, its shard's.

Each poll worker process holds one shard (`PollShard`, a lease it renews) and consumes that
shard's queue (`poll-shard-N`) besides the shared `poll` queue. The dispatcher sends each
claimed host's batch to the queue of its shard among the live ones (rendezvous hashing:
when a shard comes or goes, only the hosts of that shard move), so only one process holds
a host's persistent SSH connection instead of every process that ever took its batch: half
the connections, threads and memory with two workers, and a warm connection for every poll.

Liveness is in the database, like the poll claims: a shard whose lease ran out (its worker
died or stopped) is reaped by the next dispatch, which makes its claimed hosts due again, so
they are re-claimed and sent to a live shard at once instead of waiting for their lease.
Affinity only decides where a poll runs; whether it runs, and once, is still the host's
claim (hosts.tasks.claim_due_hosts). With no live shard (a worker without shards, tests, the
demo's broker) batches go to the shared `poll` queue as before.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from datetime import timedelta

from celery.signals import celeryd_after_setup, worker_shutdown
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import Q
from django.utils import timezone

from hosts.models import Host, PollShard
from nyiops.celery import POLL_SHARD_QUEUES, poll_shard_queue

log = logging.getLogger(__name__)

SHARED_QUEUE = "poll"


queue_name = poll_shard_queue


def shard_queues() -> list[str]:
    return list(POLL_SHARD_QUEUES)


def _lease() -> timedelta:
    return timedelta(seconds=settings.NYIOPS_POLL_SHARD_LEASE_SECONDS)


def _score(host_id: int, shard: int) -> bytes:
    return hashlib.blake2b(f"{host_id}:{shard}".encode(), digest_size=8).digest()


def shard_for(host_id: int, live: list[int]) -> int:
    """The host's shard among `live` (rendezvous hashing: the highest score wins, so a
    shard leaving moves only its own hosts, and coming back takes only those back)."""
    return max(live, key=lambda shard: _score(host_id, shard))


def live_shards(now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        PollShard.objects.filter(held_until__gt=now)
        .exclude(token="")
        .values_list("number", flat=True)
    )


def route(claimed: list[tuple[int, str]], live: list[int]) -> dict[str, list[tuple[int, str]]]:
    """Claimed hosts grouped by the queue their batches go to, in claim order."""
    routed: dict[str, list[tuple[int, str]]] = {}
    for pk, token in claimed:
        queue = queue_name(shard_for(pk, live)) if live else SHARED_QUEUE
        routed.setdefault(queue, []).append((pk, token))
    return routed


# --- a worker's side: hold one shard ---------------------------------------------------------


def claim_shard(owner: str, now=None) -> tuple[int, str] | None:
    """Take the lowest-numbered shard that nobody holds (or whose lease ran out): a
    restarted worker usually gets its old shard, and with it its hosts, back. One
    conditional UPDATE per try, like a host's claim; None when every shard is held."""
    now = now or timezone.now()
    PollShard.objects.bulk_create(
        [PollShard(number=n) for n in range(settings.NYIOPS_POLL_SHARDS)], ignore_conflicts=True
    )
    free = Q(held_until__isnull=True) | Q(held_until__lte=now)
    shards = min(settings.NYIOPS_POLL_SHARDS, len(POLL_SHARD_QUEUES))  # a declared queue each
    for number in PollShard.objects.filter(free, number__lt=shards).values_list(
        "number", flat=True
    ):
        token = str(uuid.uuid4())
        # The free condition again: another worker may have taken it since the SELECT.
        if PollShard.objects.filter(free, number=number).update(
            owner=owner[:200], token=token, held_until=now + _lease()
        ):
            return number, token
    return None


def renew_shard(number: int, token: str, now=None) -> bool:
    """Extend our lease; False when the shard is no longer ours (reaped after we stalled
    past the lease, and perhaps taken by another worker)."""
    now = now or timezone.now()
    return bool(
        PollShard.objects.filter(number=number, token=token).update(held_until=now + _lease())
    )


def release_shard(number: int, token: str) -> None:
    """A clean shutdown: the lease ends now, so the next dispatch reaps the shard and
    re-routes its hosts, including those whose batches wait in its queue unconsumed."""
    PollShard.objects.filter(number=number, token=token).update(held_until=timezone.now())


def reap_dead_shards(now=None) -> list[int]:
    """Shards whose lease ran out while held: their worker is gone. Each is reaped once
    (conditional on its token), and the hosts it was sent and has not polled (claimed, the
    claim still live) are made claimable and due now, so this dispatch sends them to a live
    shard. A poll that was in fact still running on the stalled worker is harmless: the
    re-poll's claim replaces its claim, and the store diffs against the stored rows."""
    now = now or timezone.now()
    dead = list(
        PollShard.objects.filter(held_until__lte=now)
        .exclude(token="")
        .values_list("number", "token")
    )
    reaped = [
        n for n, token in dead if PollShard.objects.filter(number=n, token=token).update(token="")
    ]
    if not reaped:
        return []
    # Which hosts were routed to a reaped shard: those it wins among the live shards plus
    # the reaped ones (the set they were routed over, unless shards came and went since).
    live = live_shards(now)
    before = sorted(set(live) | set(reaped))
    claimed = Host.objects.filter(poll_claimed_until__gt=now).values_list("pk", flat=True)
    orphans = [pk for pk in claimed if shard_for(pk, before) in reaped]
    if orphans:
        Host.objects.filter(pk__in=orphans, poll_claimed_until__gt=now).update(
            poll_claimed_until=None, next_poll_at=now
        )
    log.warning("poll shards %s gone: %d claimed hosts re-routed", reaped, len(orphans))
    return reaped


class ShardKeeper:
    """Holds one shard for a worker process: claims it at start, renews the lease from its
    own thread (a stalled consumer thread must not lose it), releases it at shutdown."""

    def __init__(self, owner: str):
        self.owner = owner
        self.number: int | None = None
        self.token = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def join(self) -> int | None:
        claimed = claim_shard(self.owner)
        if claimed is None:
            log.warning(
                "%s: every poll shard is held; polling from the shared queue only", self.owner
            )
            return None
        self.number, self.token = claimed
        self._thread = threading.Thread(target=self._renew_loop, name="poll-shard", daemon=True)
        self._thread.start()
        log.info("%s holds poll shard %d", self.owner, self.number)
        return self.number

    def _renew_loop(self) -> None:
        every = settings.NYIOPS_POLL_SHARD_LEASE_SECONDS / 3
        while not self._stop.wait(every):
            try:
                close_old_connections()
                if not renew_shard(self.number, self.token) and not self._retake():
                    log.warning("%s lost poll shard %d to another worker", self.owner, self.number)
                    return  # its queue may now be shared by two workers: still correct
            except DatabaseError:  # a database outage must not end the lease keeping
                log.exception("renewing poll shard %s failed", self.number)

    def _retake(self) -> bool:
        # Reaped after a stall but not taken since: take the same shard again.
        now = timezone.now()
        token = str(uuid.uuid4())
        free = Q(held_until__isnull=True) | Q(held_until__lte=now) | Q(token="")
        if PollShard.objects.filter(free, number=self.number).update(
            owner=self.owner[:200], token=token, held_until=now + _lease()
        ):
            self.token = token
            return True
        return False

    def leave(self) -> None:
        self._stop.set()
        if self.number is not None:
            try:
                release_shard(self.number, self.token)
            except DatabaseError:  # the lease then runs out and the shard is reaped
                log.exception("releasing poll shard %s failed", self.number)


# --- wiring into a Celery worker --------------------------------------------------------------

_KEEPER: ShardKeeper | None = None


@celeryd_after_setup.connect
def join_a_shard(sender=None, instance=None, **kwargs):
    """A worker that polls (consumes the shared `poll` queue) takes one shard and consumes
    its queue too, before it starts consuming. No worker consumes every shard's queue by
    default (a worker started without -Q would otherwise take every shard's hosts)."""
    global _KEEPER
    queues = instance.app.amqp.queues
    selected = list(queues.consume_from)  # every declared queue when started without -Q
    if SHARED_QUEUE not in selected:
        return  # an operations or notify worker: no polls
    queues.select([name for name in selected if name not in set(shard_queues())])
    keeper = ShardKeeper(str(sender))
    try:
        number = keeper.join()
    except DatabaseError:
        # The database is down (or not migrated yet) as the worker starts: it polls from
        # the shared queue, as a worker without affinity does, rather than not start.
        log.exception("%s: no poll shard taken; polling the shared queue only", sender)
        return
    if number is not None:
        queues.select_add(queue_name(number))
        _KEEPER = keeper


@worker_shutdown.connect
def leave_the_shard(**kwargs):
    if _KEEPER is not None:
        _KEEPER.leave()
