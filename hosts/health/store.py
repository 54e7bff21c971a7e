"""Load observed state into the rules' snapshots (HostState...), evaluate, store the findings.

Findings are replaced per scope: after a poll of host H, the scopes "host:H", "poll:H" and
"cluster:C" for each cluster C of H hold exactly what the rules found, no more, no less.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from hosts.health.backups import evaluate_backup
from hosts.health.carp import PF_STATES_KINDS, evaluate_cluster, pf_states_matter
from hosts.health.host import evaluate_host
from hosts.health.load import load, pf_states_of_clusters, stored_findings
from hosts.health.polls import evaluate_poll_stale
from hosts.health.state import BackupState, ClusterState, HostState, Problem
from hosts.health.verdicts import Thresholds, backup_age_limit, configured_thresholds
from hosts.models import Finding, Host

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
    judgement); an unchanged judgement returns no scopes.

    Reads are a fixed number of statements whatever the fleet's size, sent together
    (hosts.health.load); writes only for findings that changed (tests/hosts/test_judging.py)."""
    t = configured_thresholds()
    observed = load([host.pk])
    views, clusters = observed.hosts, observed.clusters_of(host.pk)
    view = views[host.pk]
    findings = evaluate_host(view, now, t)
    # Only a storage host's backup jobs are judged (a job left on a host that lost the role
    # is not polled any more: its last run would read as ever staler).
    backups = observed.backups.get(host.pk, []) if "storage" in view.roles else []
    for backup in backups:
        findings += evaluate_backup(backup, now, t)
    for c in clusters:
        members = tuple((views[m], role) for m, role in c.members if m in views)
        findings += evaluate_cluster(ClusterState(c.id, c.name, c.kind, members), now, t)
    scopes = [f"host:{host.pk}", f"poll:{host.pk}"] + [f"cluster:{c.id}" for c in clusters]
    changed = replace_findings(scopes, findings, now, stored=observed.findings)
    due = next_judgement_due(view, backups, now, t)
    return (scopes if changed else []), len(findings), due


def pf_states_need_judging(host: Host, pf_states: int | None) -> bool:
    """Must the host and its clusters be judged again because its pf state count moved to
    `pf_states` (nothing else changed)? Only if that can change a finding of one of its
    clusters (hosts.health.carp.pf_states_matter): a pair whose tables now diverge, or
    whose open finding states the counts. Otherwise the ~400 firewalls and load balancers
    of a 1,000-host fleet, whose counts move between every once-a-minute sample, would each
    be judged every minute for nothing. One query."""
    t = configured_thresholds()
    for cluster, open_kinds in pf_states_of_clusters(host.pk, sorted(PF_STATES_KINDS)):
        # The count read from the database is the last sample's: this poll's is the new one.
        members = tuple(
            (replace(h, pf_states=pf_states) if h.id == host.pk else h, role)
            for h, role in cluster.members
        )
        if pf_states_matter(replace(cluster, members=members), open_kinds, t):
            return True
    return False


def replace_findings(
    scopes: list[str], findings: list[Problem], now: datetime, *, stored: dict | None = None
) -> int:
    """Make the stored findings of `scopes` equal `findings`: create new, update changed,
    delete cleared; returns how many rows changed. first_seen_at survives while a finding
    keeps holding, and an unchanged finding is not rewritten. `stored`: the findings of
    `scopes` as hosts.health.load read them, when the caller has them already."""
    wanted = {f.dedup_key: f for f in findings}
    existing = stored_findings(scopes=scopes) if stored is None else dict(stored)
    # A wanted key held under another scope (a backup job moved to another target host):
    # dedup_key is unique, so that row is taken over, with its first_seen_at, instead of
    # colliding. Only a finding new to these scopes can be one, so it is looked up only then.
    elsewhere = [key for key in wanted if key not in existing]
    if elsewhere:
        existing.update(stored_findings(keys=elsewhere))
    cleared = [pk for key, (pk, values) in existing.items() if key not in wanted]
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
        elif row[1] != values:
            Finding.objects.filter(pk=row[0]).update(last_seen_at=now, **values)
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
