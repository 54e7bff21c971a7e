"""The poll of one host: run its plan over SSH, store what changed, judge its
health, all in one transaction; host problems become state, never exceptions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hosts.choices import Reachability
from hosts.health.store import evaluate_and_store
from hosts.models import Host, HostFacts, PollRun, StatusEvent
from hosts.polling.plan import Section, plan_for
from hosts.polling.store import store_poll
from hosts.polling.store.common import PollContext
from hosts.signals import findings_updated
from hosts.ssh import ConnectionPool, HostKey, HostKeyChanged, HostKeyUnknown, SSHError, SSHTarget
from nyiops.metrics import observe_poll

# One pool per worker process: persistent connections are reused across polls of a host.
CONNECTIONS = ConnectionPool()


# Unchanged hosts are re-judged this often anyway, for the rules that depend on the clock
# (backup staleness, scrub age) and on slowly moving numbers (pf state tables of a pair).
REEVALUATE_EVERY = timedelta(seconds=60)
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
    return tuple(getattr(facts, f.attname) for f in HostFacts._meta.concrete_fields)


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
    plan = plan_for(host, jobs, in_cluster=host.memberships.exists())
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
    with transaction.atomic():
        locked = (
            Host.objects.select_for_update(of=("self",)).select_related("facts").get(pk=host.pk)
        )
        try:
            facts = locked.facts
        except HostFacts.DoesNotExist:
            facts = HostFacts(host=locked)
        before = _facts_snapshot(facts)
        ctx = PollContext(host=locked, facts=facts, now=timezone.now())
        old_reachability = locked.reachability
        if error is None:
            store_poll(ctx, sections, jobs)
            if problems:
                facts.subsystem_errors = {**facts.subsystem_errors, "poll": "; ".join(problems)}
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
        due = facts.evaluated_at is None or ctx.now - facts.evaluated_at >= REEVALUATE_EVERY
        judge = error is not None or ctx.dirty or due
        if judge:
            facts.evaluated_at = ctx.now
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
        locked.save(
            update_fields=[
                "reachability",
                "reachability_reason",
                "last_success_at",
                "last_poll_at",
                "last_poll_duration_ms",
                "offered_key_type",
                "offered_key_base64",
                "offered_key_seen_at",
                "poll_claimed_until",
                "next_poll_at",
            ]
        )
        finding_count = None
        if judge:
            scopes, finding_count = evaluate_and_store(locked, now=ctx.now)
            if scopes:  # only a changed judgement concerns the alerts
                transaction.on_commit(lambda: findings_updated.send(sender=Host, scopes=scopes))
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
