"""The poll of one host: run its plan over SSH, store what changed, judge its
health, all in one transaction; host problems become state, never exceptions."""

from __future__ import annotations

import copy
import functools
import gc
import logging
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import (
    DatabaseError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from hosts.choices import Reachability
from hosts.dashboard.generation import POLL_FIELDS, topics_for_host
from hosts.dashboard.generation import bump as bump_dashboard
from hosts.health.store import evaluate_and_store, pf_states_need_judging
from hosts.models import ClusterMember, Host, HostFacts, PollRun, SSHCredential, StatusEvent
from hosts.polling.fingerprints import COUNTER_KINDS, poll_digest, section_fingerprint
from hosts.polling.plan import Section, plan_for
from hosts.polling.slow_lane import SlowLane, timed_out_hosts
from hosts.polling.store import store_poll
from hosts.polling.store.common import PollContext
from hosts.polling.store.metrics import METRICS_EVERY
from hosts.signals import findings_updated
from hosts.ssh import ConnectionPool, HostKey, HostKeyChanged, HostKeyUnknown, SSHError, SSHTarget
from nyiops.deadline import overtime, task_deadline
from nyiops.metrics import observe_poll

log = logging.getLogger(__name__)

# One pool per worker process: persistent connections are reused across polls of a host.
CONNECTIONS = ConnectionPool()


# A poll's time budget (RELIABILITY A7; tests/reliability/test_time_limits.py holds it):
# SSH at its worst (hosts.ssh.worst_case_seconds) plus the store transaction fits in the
# soft limit, which is the task's own deadline; the soft limit plus one statement timeout
# fits in the hard limit; and the lease outlasts the hard limit, so a live poll keeps its
# claim and a dead one's claim expires.
POLL_SOFT_LIMIT_SECONDS = 72
POLL_HARD_LIMIT_SECONDS = 85
POLL_STORE_BUDGET_SECONDS = 15
# A permanent SSH error (authentication refused, host key unknown or changed) needs a person:
# retrying it every interval only fills the host's auth log and can trip sshguard/fail2ban,
# which would then block the good polls too. Such a host is next polled after this delay;
# approving a host key schedules a poll at once (hosts.inventory.services).
PERMANENT_ERROR_BACKOFF = timedelta(minutes=15)


@dataclass
class PollOutcome:
    host: str
    status: str
    reachability: str
    reason: str
    duration_ms: int
    events: int
    findings: int | None  # None: nothing changed, the findings were not re-judged
    subsystem_errors: dict[str, str]

    def summary(self) -> str:
        text = f"{self.host}: {self.status} in {self.duration_ms} ms, {self.events} events"
        if self.reason:
            text += f" ({self.reason})"
        return text


def ssh_target(host: Host) -> SSHTarget:
    timeouts = settings.NYIOPS_SSH_TIMEOUTS
    pinned = HostKey(host.host_key_type, host.host_key_base64) if host.host_key_base64 else None
    return SSHTarget(
        name=host.name,
        address=host.address,
        port=host.ssh_port,
        username=host.ssh_user or host.credential.username,
        private_key=host.credential.private_key,
        pinned_key=pinned,
        connect_timeout=timeouts["connect"],
        banner_timeout=timeouts["banner"],
        auth_timeout=timeouts["auth"],
        command_timeout=timeouts["command"],
    )


def _reachability_for(error: SSHError) -> str:
    if isinstance(error, HostKeyUnknown):
        return Reachability.HOST_KEY_UNKNOWN
    if isinstance(error, HostKeyChanged):
        return Reachability.HOST_KEY_CHANGED
    return Reachability.UNKNOWN


def _facts_snapshot(facts: HostFacts) -> tuple:
    # Loaded fields only: raw_outputs is deferred (large, and rewritten only on news).
    return tuple(facts.__dict__.get(f.attname) for f in HostFacts._meta.concrete_fields)


def _fast_path_sql() -> str:
    """The fast path's statement, built once from the models' table and column names. Plain
    SQL: Django compiling the equivalent filtered update cost more CPU than running it."""
    h, f = Host._meta, HostFacts._meta

    def col(meta, name):
        return connection.ops.quote_name(meta.get_field(name).column)

    # Only identifiers from the models, quoted by the backend; every value is a parameter.
    return (
        f"UPDATE {connection.ops.quote_name(h.db_table)} SET "  # noqa: S608
        f"{col(h, 'last_poll_at')} = %s, {col(h, 'last_success_at')} = %s, "
        f"{col(h, 'last_poll_duration_ms')} = %s, "
        # Released only when the claim is ours (a dispatched poll); left as is otherwise.
        f"{col(h, 'poll_claimed_until')} = CASE WHEN %s THEN NULL "
        f"ELSE {col(h, 'poll_claimed_until')} END "
        f"WHERE {col(h, 'id')} = %s AND {col(h, 'reachability')} = %s "
        f"AND (%s = '' OR {col(h, 'poll_claim')} = %s) "
        f"AND EXISTS (SELECT 1 FROM {connection.ops.quote_name(f.db_table)} "
        f"WHERE {col(f, 'host')} = %s AND {col(f, 'poll_digest')} = %s "
        f"AND {col(f, 'judge_due_at')} > %s "
        f"AND (%s OR {col(f, 'metrics_sampled_at')} > %s))"
    )


def _store_unchanged(host: Host, claim: str, digest: str, has_counters: bool, now, ms) -> bool:
    """The "nothing changed" fast path: one conditional UPDATE of the host row.

    It matches only when the host was reachable, its last stored poll had the same digest
    (every section's fingerprint, hosts.polling.fingerprints) and no unreadable subsystem,
    no rule that reads the clock is due, the counters' once-a-minute sample is not due, and
    (for a dispatched poll) the claim is still ours. Anything else, or any doubt, takes
    the full path, which diffs every changed section against the stored rows."""
    at = connection.ops.adapt_datetimefield_value(now)
    sample_after = connection.ops.adapt_datetimefield_value(now - METRICS_EVERY)
    params = [
        at,
        at,
        ms,
        bool(claim),
        host.pk,
        str(Reachability.OK),
        claim,
        claim,
        host.pk,
        digest,
        at,
        not has_counters,
        sample_after,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_fast_path_sql(), params)
        return cursor.rowcount == 1


def poll_host(host: Host, *, claim: str = "") -> PollOutcome:
    """Poll one host: run its plan in one SSH exec, store what changed, judge health.

    Host problems never raise: an unreachable host, a refused key or unreadable output all
    become the host's state, events and findings, with the last good data kept. Steps:
    1. run the plan over the pooled connection; 2. in one transaction, lock the host row,
    store what changed, update reachability, release the poll's claim, record a PollRun
    when the poll has something to say (it failed, read partly, or changed state), and
    re-judge the host and its clusters when something changed or the time-based rules are
    due; 3. after commit, tell listeners (alerts).
    """
    started = timezone.now()
    clock = time.monotonic()
    jobs = list(host.backup_targets.all()) if host.has_role("storage") else []
    # The poll task annotates `in_cluster` on the row it loads (one query less per poll).
    in_cluster = getattr(host, "in_cluster", None)
    if in_cluster is None:
        in_cluster = host.memberships.exists()
    plan = plan_for(host, jobs, in_cluster=in_cluster)
    if in_cluster:
        watch_connection(host)
    error: SSHError | None = None
    result = None
    if host.credential is None:
        error = SSHError("no SSH credential configured for this host", kind="auth")
    else:
        try:
            result = CONNECTIONS.run(ssh_target(host), plan.script())
        except SSHError as exc:
            error = exc
    sections: list[Section] = []
    problems: list[str] = []
    if result is not None:
        sections, problems = plan.split(result.stdout)
        if result.stdout_truncated:
            problems.append("output exceeded the size cap and was truncated")
    duration_ms = int((time.monotonic() - clock) * 1000)
    fingerprints: dict[str, str] | None = None
    if result is not None and not problems:
        fingerprints = {
            s.command.key: section_fingerprint(s.command.kind, s.output, s.exit_status)
            for s in sections
        }
        digest = poll_digest(fingerprints.items())
        has_counters = any(s.command.kind in COUNTER_KINDS for s in sections)
        now = timezone.now()
        if _store_unchanged(host, claim, digest, has_counters, now, duration_ms):
            return PollOutcome(
                host=host.name,
                status=PollRun.Status.OK,
                reachability=Reachability.OK,
                reason="",
                duration_ms=duration_ms,
                events=0,
                findings=None,
                subsystem_errors={},
            )
    with transaction.atomic():
        locked = (
            Host.objects.select_for_update(of=("self",))
            .select_related("facts")
            .defer("facts__raw_outputs")
            .get(pk=host.pk)
        )
        if claim and locked.poll_claim != claim:
            # Another poll took this host's claim while this one ran (the connection
            # watcher's, or a dispatch after the lease ran out): its observation is the
            # newer one, and storing this older one after it would undo it.
            return PollOutcome(
                host=host.name,
                status="superseded",
                reachability=locked.reachability,
                reason="another poll took over its claim; nothing stored",
                duration_ms=duration_ms,
                events=0,
                findings=None,
                subsystem_errors={},
            )
        try:
            facts = locked.facts
        except HostFacts.DoesNotExist:
            facts = HostFacts(host=locked)
        before = _facts_snapshot(facts)
        ctx = PollContext(host=locked, facts=facts, now=timezone.now())
        old_reachability, old_reason = locked.reachability, locked.reachability_reason
        if error is None:
            store_poll(ctx, sections, jobs, fingerprints)
            if problems:
                facts.subsystem_errors = {**facts.subsystem_errors, "poll": "; ".join(problems)}
            # Only a clean, complete poll can vouch for the next one being unchanged.
            facts.poll_digest = (
                "" if facts.subsystem_errors else poll_digest(facts.section_fingerprints.items())
            )
            locked.reachability, locked.reachability_reason = Reachability.OK, ""
            locked.last_success_at = ctx.now
            status = PollRun.Status.PARTIAL if facts.subsystem_errors else PollRun.Status.OK
        else:
            locked.reachability = _reachability_for(error)
            locked.reachability_reason = error.reason[:300]
            offered = getattr(error, "offered", None)
            if offered is not None:
                locked.offered_key_type = offered.key_type
                locked.offered_key_base64 = offered.key_base64
                locked.offered_key_seen_at = locked.offered_key_seen_at or ctx.now
            status = (
                PollRun.Status.TIMED_OUT
                if error.kind in ("timeout", "command_timeout")
                else PollRun.Status.FAILED
            )
            if error.permanent:
                backoff = max(PERMANENT_ERROR_BACKOFF, timedelta(seconds=locked.poll_interval))
                locked.next_poll_at = max(locked.next_poll_at, ctx.now + backoff)
        ctx.change("host", locked.name, "reachability", old_reachability, locked.reachability)
        # Judged when something changed, the poll failed, or a rule that reads the clock
        # (backup staleness, scrub age) can have changed its verdict since the last time; a
        # moved pf state count only when it can change a cluster's finding.
        due = facts.judge_due_at is None or ctx.now >= facts.judge_due_at
        judge = error is not None or ctx.dirty or due
        judge = judge or (ctx.pf_states_moved and pf_states_need_judging(locked, facts.pf_states))
        if facts.pk is None or _facts_snapshot(facts) != before:
            facts.save()
        if status != PollRun.Status.OK or ctx.events:
            poll = PollRun.objects.create(
                host=locked,
                claim=claim,
                started_at=started,
                finished_at=ctx.now,
                duration_ms=duration_ms,
                status=status,
                commands=len(sections),
                error=(error.reason if error else "; ".join(problems))[:500],
            )
            for event in ctx.events:
                event.poll = poll
            StatusEvent.objects.bulk_create(ctx.events)
        locked.last_poll_at = ctx.now
        locked.last_poll_duration_ms = duration_ms
        if claim and locked.poll_claim == claim:
            locked.poll_claimed_until = None  # done: the next sweep may claim it again
        # The poll's own columns: the dashboard's generation tells such a save from an edit.
        locked.save(update_fields=sorted(POLL_FIELDS - {"poll_claim"}))
        finding_count, scopes = None, []
        if judge:
            scopes, finding_count, due_at = evaluate_and_store(locked, now=ctx.now)
            HostFacts.objects.filter(pk=facts.pk).update(evaluated_at=ctx.now, judge_due_at=due_at)
            if scopes:  # only a changed judgement concerns the alerts
                transaction.on_commit(lambda: findings_updated.send(sender=Host, scopes=scopes))
        # Last in the transaction, so the dashboard's generations commit with what they
        # announce (hosts/dashboard/generation.py): the widgets that show this host, only;
        # a counter sample alone is not news to them.
        if (
            ctx.dirty
            or scopes
            or (old_reachability, old_reason) != (locked.reachability, locked.reachability_reason)
        ):
            bump_dashboard(topics_for_host(locked.pk))
    observe_poll(duration_ms / 1000, stored_at=ctx.now, next_due_at=host.next_poll_at if claim else None, interval_s=host.poll_interval, ssh_error_kind=error.kind if error else None)  # fmt: skip  # noqa: E501
    return PollOutcome(
        host=host.name,
        status=status,
        reachability=locked.reachability,
        reason=locked.reachability_reason,
        duration_ms=duration_ms,
        events=len(ctx.events),
        findings=finding_count,
        subsystem_errors=dict(facts.subsystem_errors) if error is None else {},
    )


# --- claimed polls, one or a batch ----------------------------------------------------------


# The claimed host's row. Every poll reads it (is the claim still ours? where and how to
# connect? what to run?), and through the ORM that read was the largest part of an
# unchanged poll left (1.2 ms: compiling the query, building two model objects, decrypting
# the private key). With host affinity a process polls the same hosts every time, so it
# keeps each host's loaded object and reads the row with one plain SELECT: when every
# inventory column (the host's, its credential's, its cluster membership) is what the kept
# object was built from, the object is reused; anything else, or a host not kept yet, is
# loaded through the ORM as before. The comparison is of every column, so no inventory
# change can be missed; only the columns the poller itself writes are read fresh each time.
_POLL_STATE = (
    "next_poll_at",
    "poll_claim",
    "poll_claimed_until",
    "reachability",
    "reachability_reason",
    "last_poll_at",
    "last_success_at",
    "last_poll_duration_ms",
    "offered_key_type",
    "offered_key_base64",
    "offered_key_seen_at",
)
_KEPT_HOSTS: dict[int, tuple[tuple, Host]] = {}


@functools.cache
def _claimed_row_sql(vendor: str) -> tuple[str, list, list]:
    """(SQL, inventory columns, poll-state fields) of the claimed-row SELECT, built once
    from the models' table and column names."""
    h, c, m = Host._meta, SSHCredential._meta, ClusterMember._meta
    q = connection.ops.quote_name
    state = [h.get_field(name) for name in _POLL_STATE]
    inventory = [f"h.{q(f.column)}" for f in h.concrete_fields if f.name not in _POLL_STATE]
    inventory += [f"c.{q(f.column)}" for f in c.concrete_fields]
    member = q(m.get_field("host").column)
    sql = (
        f"SELECT {', '.join(inventory)}, "  # noqa: S608 (identifiers from the models only)
        f"EXISTS (SELECT 1 FROM {q(m.db_table)} WHERE {member} = h.{q(h.pk.column)}), "
        f"{', '.join(f'h.{q(f.column)}' for f in state)} "
        f"FROM {q(h.db_table)} h LEFT JOIN {q(c.db_table)} c "
        f"ON c.{q(c.pk.column)} = h.{q(h.get_field('credential').column)} "
        f"WHERE h.{q(h.pk.column)} = %s AND h.{q(h.get_field('poll_claim').column)} = %s "
        f"AND h.{q(h.get_field('enabled').column)}"
    )
    return sql, inventory, state


def load_claimed_host(host_id: int, claim: str) -> Host | None:
    """The host if `claim` is still its current claim (and it is enabled), else None; with
    its credential loaded and `in_cluster` set. One plain SELECT when this process already
    holds the host's inventory unchanged (see above)."""
    sql, inventory, state = _claimed_row_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [host_id, claim])
        row = cursor.fetchone()
    if row is None:
        return None
    key = row[: len(inventory) + 1]  # every inventory column and the cluster membership
    kept = _KEPT_HOSTS.get(host_id)
    if kept is None or kept[0] != key:
        host = (
            Host.objects.select_related("credential")
            .annotate(in_cluster=Exists(ClusterMember.objects.filter(host=OuterRef("pk"))))
            .filter(pk=host_id, poll_claim=claim, enabled=True)
            .first()
        )
        if host is not None:
            _KEPT_HOSTS[host_id] = (key, host)
        return host
    host = copy.copy(kept[1])  # each poll its own object: the poll-state fields differ
    for field, value in zip(state, row[len(inventory) + 1 :], strict=True):
        col = field.cached_col  # converted as the ORM converts it (SQLite datetimes are text)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = convert(value, col, connection)
        setattr(host, field.attname, value)
    return host


def poll_claimed(host_id: int, claim: str) -> str:
    """Poll one host if `claim` is still its current claim; a one-line summary back.

    A duplicate or late delivery finds another claim (or none) and does nothing."""
    host = load_claimed_host(host_id, claim)
    if host is None:
        return f"host {host_id}: stale claim, another poll owns it"
    started = timezone.now()
    try:
        outcome = poll_host(host, claim=claim)  # releases the claim in its own transaction
    except BaseException as exc:
        # Release it anyway (a DB error, the soft time limit) so the host is polled again at
        # its next due time instead of after the lease. Past the deadline these statements
        # still run (each bounded by the worker's statement timeout).
        with overtime():
            released = Host.objects.filter(pk=host_id, poll_claim=claim).update(
                poll_claimed_until=None
            )
            if released and isinstance(exc, SoftTimeLimitExceeded):
                PollRun.objects.create(
                    host_id=host_id,
                    claim=claim,
                    started_at=started,
                    finished_at=timezone.now(),
                    status=PollRun.Status.TIMED_OUT,
                    error=f"poll stopped: {exc}"[:300],
                )
        raise
    return outcome.summary()


_EXECUTOR: ThreadPoolExecutor | None = None
_SLOW: SlowLane | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=settings.NYIOPS_POLL_THREADS, thread_name_prefix="poll"
            )
        return _EXECUTOR


def _slow_lane() -> SlowLane | None:
    """This process's slow lane (hosts.polling.slow_lane); None when
    NYIOPS_POLL_SLOW_THREADS is 0 (every poll on the regular threads)."""
    global _SLOW
    with _EXECUTOR_LOCK:
        if _SLOW is None and settings.NYIOPS_POLL_SLOW_THREADS > 0:
            _SLOW = SlowLane(settings.NYIOPS_POLL_SLOW_THREADS)
        return _SLOW


def shutdown_poll_threads() -> None:
    """Stop this process's poll threads, the slow lane's and the urgent ones too (and so
    their database connections): for tests whose database is dropped afterwards, and a
    worker's shutdown. Polls in flight end first, each by its own deadline."""
    global _EXECUTOR, _URGENT, _SLOW
    with _EXECUTOR_LOCK:
        pools, _EXECUTOR, _URGENT, _SLOW = [_EXECUTOR, _URGENT, _SLOW], None, None, None
    for pool in pools:
        if pool is not None:
            pool.submit(connections.close_all).result()
            pool.shutdown()
    gc.collect()  # a finished thread's connection closes when it is collected


# Hosts whose poll has started in this process, on any of its poll threads: the watcher
# leaves their claims alone (hosts.polling.run._claim_dropped).
_POLLING: Counter[int] = Counter()
_POLLING_LOCK = threading.Lock()


def _poll_in_thread(host_id: int, claim: str) -> str:
    # Each poll thread keeps its own database connection (CONN_MAX_AGE), checked as a
    # Celery task thread's is, before and after each use.
    with _POLLING_LOCK:
        _POLLING[host_id] += 1
    close_old_connections()
    try:
        # The task's deadline is per thread (nyiops.deadline): each host of a batch gets the
        # single-host poll's own, so a hung host stops at its limit like a lone poll does.
        with task_deadline(POLL_SOFT_LIMIT_SECONDS, f"poll of host {host_id}"):
            return poll_claimed(host_id, claim)
    except Exception as exc:
        log.exception("poll of host %s failed", host_id)
        return f"host {host_id}: poll failed: {type(exc).__name__}"
    finally:
        close_old_connections()
        with _POLLING_LOCK:
            _POLLING[host_id] -= 1
            if not _POLLING[host_id]:
                del _POLLING[host_id]


def poll_claimed_batch(claims: list[tuple[int, str]]) -> list[str]:
    """Poll a batch of claimed hosts side by side on this process's poll threads
    (NYIOPS_POLL_THREADS) and wait for them; a host whose last poll timed out goes to the
    slow lane instead (NYIOPS_POLL_SLOW_THREADS, hosts.polling.slow_lane), and the batch
    does not wait for it. When the lane is full, such a host takes a regular thread.

    One Celery task per batch instead of per host: the broker round trips and the worker's
    per-task bookkeeping cost more CPU than an unchanged poll. A slow or hung host holds
    one poll thread until its SSH deadlines, never the other hosts of its batch, and each
    host is stored the moment its own poll ends."""
    lane = _slow_lane()
    slow = timed_out_hosts([pk for pk, _ in claims]) if lane is not None else set()
    results: list[Future | str] = []
    for pk, token in claims:
        if pk in slow and lane.offer(_poll_in_thread, pk, token):
            results.append(f"host {pk}: handed to the slow lane (its last poll timed out)")
        else:
            results.append(_executor().submit(_poll_in_thread, pk, token))
    return [r if isinstance(r, str) else r.result() for r in results]


# --- a dropped connection of a cluster member: poll it now ------------------------------------

_WATCHED: dict[str, int] = {}  # host name -> pk
_WATCH_LOCK = threading.Lock()
_WATCHER: threading.Thread | None = None


def watch_connection(host: Host) -> None:
    """Have this process watch its persistent connection to a cluster member: if the host
    drops it (a crash that resets it, a reboot, sshd or the listener gone), the host is
    polled at once instead of at its next interval. A failover is paged seconds sooner this
    way at no cost per poll; a host that dies silently (no FIN, no RST) is still found by
    its next regular poll."""
    global _WATCHER
    with _WATCH_LOCK:
        _WATCHED[host.name] = host.pk
        if _WATCHER is None or not _WATCHER.is_alive():
            _WATCHER = threading.Thread(target=_watch_loop, name="poll-watch", daemon=True)
            _WATCHER.start()


def _claim_now(host_id: int, now, *, take_over: bool = False) -> str | None:
    """Claim one host for an immediate poll, as the dispatcher claims due hosts (a token
    and a lease, only if no live claim holds it, or in any case with `take_over`); None
    when a poll already holds it."""
    token = str(uuid.uuid4())
    lease = timedelta(seconds=settings.NYIOPS_POLL_LEASE_SECONDS)
    claimable = Q() if take_over else Q(poll_claimed_until__isnull=True)
    if not take_over:
        claimable |= Q(poll_claimed_until__lt=now)
    host = Host.objects.filter(pk=host_id, enabled=True).only("poll_interval").first()
    if host is None:
        return None
    claimed = Host.objects.filter(claimable, pk=host_id, enabled=True).update(
        poll_claim=token,
        poll_claimed_until=now + lease,
        next_poll_at=now + timedelta(seconds=host.poll_interval),
    )
    return token if claimed else None


def _claim_dropped(host_id: int, now) -> str | None:
    """Claim a host whose connection dropped, for a poll now; None when a poll of it has
    started in this process already (it finds the drop itself).

    A live claim is otherwise taken over: it is a batch's that has not reached this host
    yet, queued behind other polls, and when the poller is busy that queue is seconds long,
    which a failover's page would wait for. The batch then finds its claim stale and skips
    the host. The check and the take-over hold the lock every poll thread registers under
    before it reads its claim, so no poll of this process can start between them; a poll
    in another process (a shard moved) stores nothing once its claim is taken."""
    token = _claim_now(host_id, now)
    if token is not None:
        return token
    with _POLLING_LOCK:
        if _POLLING[host_id]:
            return None
        return _claim_now(host_id, now, take_over=True)


def poll_dropped_hosts() -> list[str]:
    """One look at the watched connections. A host that dropped its connection is claimed
    (taken over from a batch still queued) and polled at once on this process's urgent poll
    thread; if a poll of it is running here already, that poll finds the drop itself, and
    the host is made due for the next dispatch too."""
    with _WATCH_LOCK:
        watched = dict(_WATCHED)
    names = CONNECTIONS.dropped(set(watched))
    for name in names:
        # Claimed on the urgent thread, once it runs: a claim made here for a poll that an
        # exiting process's executor then refused would hold the host for a whole lease.
        _urgent_executor().submit(_poll_dropped, watched[name])
    if names:
        log.info("connection dropped by %s: polled now", ", ".join(names))
    return names


def _poll_dropped(host_id: int) -> str | None:
    close_old_connections()
    try:
        now = timezone.now()
        token = _claim_dropped(host_id, now)
        if token is None:
            Host.objects.filter(pk=host_id).update(next_poll_at=now)
            return None
    except DatabaseError:  # the database is away: the host's next dispatch polls it
        log.exception("claiming host %s after its dropped connection failed", host_id)
        return None
    return _poll_in_thread(host_id, token)


_URGENT: ThreadPoolExecutor | None = None


def _urgent_executor() -> ThreadPoolExecutor:
    global _URGENT
    with _EXECUTOR_LOCK:
        if _URGENT is None:
            _URGENT = ThreadPoolExecutor(max_workers=2, thread_name_prefix="poll-urgent")
        return _URGENT


# A watcher that wakes this much later than it asked was held back (no CPU for the
# process, the GIL held, a GC pause): logged, because it delays a failover's page as long.
WATCH_LATE_LOGGED_S = 1.0


def _watch_loop() -> None:
    # Until the interpreter exits: the connections its exit closes are no hosts' news, and
    # the poll executors refuse work by then.
    while threading.main_thread().is_alive():
        every = settings.NYIOPS_WATCH_DROPPED_EVERY
        asleep = time.monotonic()
        time.sleep(every)
        late = time.monotonic() - asleep - every
        if late >= WATCH_LATE_LOGGED_S:
            log.warning("poll worker stalled: the connection watcher woke %.1f s late", late)
        try:
            # No database here: the urgent thread claims the host.
            poll_dropped_hosts()
        except Exception:  # nothing that goes wrong once may end the watch
            log.exception("watching dropped connections failed")
