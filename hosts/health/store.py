"""Load observed state into the rules' snapshots (HostState...), evaluate, store the findings.

Findings are replaced per scope: after a poll of host H, the scopes "host:H", "poll:H" and
"cluster:C" for each cluster C of H hold exactly what the rules found, no more, no less.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Max, Q

from hosts.health.backups import evaluate_backup
from hosts.health.carp import evaluate_cluster
from hosts.health.host import evaluate_host
from hosts.health.polls import evaluate_poll_stale
from hosts.health.state import (
    BackendState,
    BackupState,
    ClusterState,
    DeviceState,
    HostState,
    MirrorState,
    PoolState,
    Problem,
    VhidState,
)
from hosts.health.verdicts import (
    GOOD_BACKUP_EXIT,
    Thresholds,
    backup_age_limit,
    configured_thresholds,
)
from hosts.inventory.keys import fingerprint
from hosts.models import (
    BackupJob,
    BackupRun,
    Cluster,
    Finding,
    Host,
    HostFacts,
    StatusEvent,
)


def _key(kind: str, b64: str) -> str:
    return f"{kind} {fingerprint(b64)}" if b64 else ""


def load_host_states(host_ids: list[int]) -> dict[int, HostState]:
    """HostViews for many hosts in a fixed number of queries."""
    hosts = Host.objects.filter(pk__in=host_ids).prefetch_related(
        "carp_vhids", "mirrors__components", "zpools__devices", "jails", "haproxy_backends__servers"
    )
    # raw_outputs is large JSON that no rule reads.
    facts = {
        f.host_id: f for f in HostFacts.objects.filter(host_id__in=host_ids).defer("raw_outputs")
    }
    master_since: dict[tuple[int, str], datetime] = {
        (row["host_id"], row["subject"]): row["at"]
        for row in StatusEvent.objects.filter(
            host_id__in=host_ids, subject_type="carp", field="state", new="MASTER"
        )
        .values("host_id", "subject")
        .annotate(at=Max("at"))
    }
    views = {}
    for h in hosts:
        f = facts.get(h.pk) or HostFacts(host=h)
        views[h.pk] = HostState(
            id=h.pk,
            name=h.name,
            reachability=h.reachability,
            reason=h.reachability_reason,
            roles=tuple(h.roles),
            last_success_at=h.last_success_at,
            offered_key=_key(h.offered_key_type, h.offered_key_base64),
            pinned_key=_key(h.host_key_type, h.host_key_base64),
            carp_preempt=f.carp_preempt,
            carp_demotion=f.carp_demotion,
            pfsync_present=f.pfsync_present,
            pfsync_syncok=f.pfsync_syncok,
            pf_states=f.pf_states,
            pf_ruleset_hash=f.pf_ruleset_hash,
            vhids=tuple(
                VhidState(
                    v.interface,
                    v.vhid,
                    v.state,
                    v.advbase,
                    v.advskew,
                    tuple(v.vips),
                    master_since.get((h.pk, f"vhid {v.vhid}@{v.interface}")),
                )
                for v in h.carp_vhids.all()
                if v.gone_at is None
            ),
            mirrors=tuple(
                MirrorState(
                    m.name,
                    m.state,
                    tuple((c.name, c.state, c.synchronized_pct) for c in m.components.all()),
                )
                for m in h.mirrors.all()
                if m.gone_at is None
            ),
            pools=tuple(
                PoolState(
                    p.name,
                    p.health,
                    p.cap_pct,
                    p.scan_kind,
                    p.scan_state,
                    p.scan_pct,
                    p.scan_finished_at,
                    tuple(
                        DeviceState(
                            d.name,
                            d.state,
                            d.read_errors,
                            d.write_errors,
                            d.cksum_errors,
                            d.section,
                            d.depth,
                        )
                        for d in p.devices.all()
                    ),
                )
                for p in h.zpools.all()
                if p.gone_at is None
            ),
            stopped_jails=tuple(j.name for j in h.jails.all() if not j.running and not j.gone_at),
            backends=tuple(
                BackendState(
                    b.name,
                    b.status,
                    tuple((s.name, s.status) for s in b.servers.all() if s.gone_at is None),
                )
                for b in h.haproxy_backends.all()
                if b.gone_at is None
            ),
            subsystem_errors=dict(f.subsystem_errors or {}),
        )
    return views


def backup_states(target: Host) -> list[BackupState]:
    jobs = list(BackupJob.objects.filter(target=target).select_related("source"))
    last_runs = {}
    last_success = dict(
        BackupRun.objects.filter(job__in=jobs, exit_code__in=GOOD_BACKUP_EXIT)
        .exclude(snapshot_verified=False)
        .values_list("job_id")
        .annotate(Max("finished_at"))
    )
    for run in BackupRun.objects.filter(job__in=jobs, finished_at__isnull=False).order_by(
        "job_id", "-started_at"
    ):
        last_runs.setdefault(run.job_id, run)
    views = []
    for job in jobs:
        run = last_runs.get(job.pk)
        views.append(
            BackupState(
                id=job.pk,
                name=job.name,
                source_id=job.source_id,
                source=job.source.name,
                target_id=target.pk,
                schedule_minutes=job.schedule_minutes,
                created_hint=job.created_at,
                last_exit_code=run.exit_code if run else None,
                last_finished_at=run.finished_at if run else None,
                last_error=(run.error_lines[-1] if run and run.error_lines else ""),
                last_snapshot_verified=run.snapshot_verified if run else None,
                last_success_at=last_success.get(job.pk),
            )
        )
    return views


# A host whose facts do not change is still re-judged this often, as a safety net under
# `next_judgement_due` (a clock-reading rule it does not know of would be late by this much).
JUDGE_AT_LEAST_EVERY = timedelta(minutes=15)
# A stale backup's message says its age in tenths of an hour: refreshed that often.
STALE_AGE_STEP = timedelta(minutes=6)


def next_judgement_due(
    view: HostState, backups: list[BackupState], now: datetime, t: Thresholds
) -> datetime:
    """When a rule that reads the clock can next change its verdict on this host if none of
    its facts change: a pool's last scrub growing too old, a backup's last good run
    growing stale (and then the age its message states). Facts that change re-judge the
    host anyway; so does every failed poll."""
    due = [now + JUDGE_AT_LEAST_EVERY]
    for pool in view.pools:
        if pool.scan_finished_at is not None:
            overdue = pool.scan_finished_at + timedelta(days=t.scrub_max_age_days, seconds=1)
            if overdue > now:
                due.append(overdue)
    for b in backups:
        reference = b.last_success_at or b.created_hint
        if reference is None:
            continue
        stale = reference + backup_age_limit(b.schedule_minutes, t)
        due.append(stale + timedelta(seconds=1) if stale >= now else now + STALE_AGE_STEP)
    return min(due)


def evaluate_and_store(host: Host, *, now: datetime) -> tuple[list[str], int, datetime]:
    """Re-judge a host and every cluster it belongs to. Returns (the scopes whose findings
    changed, the number of findings, when the clock alone can next change the host's
    judgement); an unchanged judgement returns no scopes."""
    t = configured_thresholds()
    clusters = list(Cluster.objects.filter(members__host=host).prefetch_related("members"))
    member_ids = {m.host_id for c in clusters for m in c.members.all()} | {host.pk}
    views = load_host_states(sorted(member_ids))
    findings = evaluate_host(views[host.pk], now, t)
    backups = backup_states(host) if host.has_role("storage") else []
    for backup in backups:
        findings += evaluate_backup(backup, now, t)
    for cluster in clusters:
        members = tuple(
            (views[m.host_id], m.role) for m in cluster.members.all() if m.host_id in views
        )
        findings += evaluate_cluster(
            ClusterState(cluster.pk, cluster.name, cluster.kind, members), now, t
        )
    scopes = [f"host:{host.pk}", f"poll:{host.pk}"] + [f"cluster:{c.pk}" for c in clusters]
    changed = replace_findings(scopes, findings, now)
    due = next_judgement_due(views[host.pk], backups, now, t)
    return (scopes if changed else []), len(findings), due


def replace_findings(scopes: list[str], findings: list[Problem], now: datetime) -> int:
    """Make the stored findings of `scopes` equal `findings`: create new, update changed,
    delete cleared; returns how many rows changed. first_seen_at survives while a finding
    keeps holding, and an unchanged finding is not rewritten."""
    wanted = {f.dedup_key: f for f in findings}
    # Rows of these scopes, plus rows holding a wanted key under another scope (a backup job
    # moved to another target host): dedup_key is unique, so such a row is taken over, with
    # its first_seen_at, instead of colliding.
    existing = {
        row.dedup_key: row
        for row in Finding.objects.filter(Q(scope__in=scopes) | Q(dedup_key__in=wanted))
    }
    cleared = [row.pk for key, row in existing.items() if key not in wanted]
    changes = len(cleared)
    if cleared:
        Finding.objects.filter(pk__in=cleared).delete()
    for key, f in wanted.items():
        values = {
            "scope": f.scope,
            "kind": f.kind,
            "severity": f.severity,
            "host_id": f.host_id,
            "cluster_id": f.cluster_id,
            "subject": f.subject[:200],
            "message": f.message,
            "details": f.details,
        }
        row = existing.get(key)
        if row is None:
            Finding.objects.create(dedup_key=key, first_seen_at=now, last_seen_at=now, **values)
            changes += 1
        # last_seen_at moves only with a change: rewriting every finding on every poll would
        # cost a write per finding per host per minute for nothing.
        elif any(getattr(row, k) != v for k, v in values.items()):
            Finding.objects.filter(pk=row.pk).update(last_seen_at=now, **values)
            changes += 1
    return changes


def evaluate_stale_polls(*, now: datetime) -> list[str]:
    """The `poll_stale` finding, judged by a sweeper because a host that is not being polled
    cannot report it itself. Returns the scopes it changed."""
    t = configured_thresholds()
    by_scope: dict[str, list[Problem]] = defaultdict(list)
    current = set(Finding.objects.filter(kind="poll_stale").values_list("scope", flat=True))
    for host in Host.objects.filter(enabled=True).only(
        "pk", "name", "last_poll_at", "poll_interval", "reachability"
    ):
        view = HostState(id=host.pk, name=host.name, reachability=host.reachability)
        found = evaluate_poll_stale(view, host.last_poll_at, host.poll_interval, now, t)
        if found:
            by_scope[f"poll:{host.pk}"] += found
    return [
        scope
        for scope in sorted(current | set(by_scope))
        if replace_findings([scope], by_scope.get(scope, []), now)
    ]
