"""Load what judging a host reads (`JudgingInput`): the rules' snapshots (`HostState`,
`BackupState`, the host's clusters) and the findings stored under its scopes. One plain SQL
statement per table, whatever the number of hosts or clusters, each reading only the rows
and columns the rules read, and all sent in one round trip on PostgreSQL.

- The judged host gets a full `HostState`. Its cluster peers get what the cluster rules
  read (`hosts.health.carp`): the host row, its facts and its CARP vhids; not their mirrors,
  pools, jails or backends, which only the host rules read.
- Vhids are read only for cluster members (no rule reads another host's), each with when
  the host last became MASTER for it (the failover message states it).

Why plain SQL: compiling the ORM's equivalent queries and building model instances cost
several times more CPU than running them (a one-row query: ~0.4 ms through the ORM, ~0.1 ms
plain); judging a host and its clusters took 12-35 ms of CPU before, 1-2 ms now
(BENCHMARKS.md, issue 12). Tables come from the models and columns are the models' own
(Django's default column names); tests/hosts/test_judging.py holds this loader equal to a
plain ORM one (it passes on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache

from django.db import connection
from django.utils.dateparse import parse_datetime

from hosts.health.state import (
    BackendState,
    BackupState,
    ClusterState,
    DeviceState,
    HostState,
    MirrorState,
    PoolState,
    VhidState,
)
from hosts.health.verdicts import GOOD_BACKUP_EXIT
from hosts.inventory.keys import fingerprint
from hosts.models import (
    BackupJob,
    BackupRun,
    CarpVhid,
    Cluster,
    ClusterMember,
    Finding,
    HaproxyBackend,
    HaproxyServer,
    Host,
    HostFacts,
    Jail,
    Mirror,
    MirrorComponent,
    StatusEvent,
    ZPool,
    ZPoolDevice,
)


@dataclass(frozen=True)
class Membership:
    """One cluster of a judged host, with every member in the rules' order (intended role,
    then host name: ClusterMember's ordering)."""

    id: int
    name: str
    kind: str
    members: tuple[tuple[int, str], ...]  # (host id, intended role)


@dataclass
class JudgingInput:
    """Everything judging some hosts reads, loaded at once (`load`)."""

    hosts: dict[int, HostState]  # the judged hosts and their cluster peers
    clusters: list[Membership]  # the judged hosts' clusters, by name
    backups: dict[int, list[BackupState]]  # the jobs each judged host receives, by name
    # {dedup key: (pk, compared values)} stored under the judged hosts' scopes
    # (hosts.health.store.replace_findings).
    findings: dict[str, tuple[int, dict]] = field(default_factory=dict)

    def clusters_of(self, host_id: int) -> list[Membership]:
        return [c for c in self.clusters if any(m == host_id for m, _ in c.members)]


@cache
def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    models = {
        "host": Host, "facts": HostFacts, "cluster": Cluster, "member": ClusterMember,
        "vhid": CarpVhid, "event": StatusEvent, "mirror": Mirror, "component": MirrorComponent,
        "pool": ZPool, "device": ZPoolDevice, "jail": Jail, "backend": HaproxyBackend,
        "server": HaproxyServer, "job": BackupJob, "run": BackupRun, "finding": Finding,
    }  # fmt: skip
    return {name: q(model._meta.db_table) for name, model in models.items()}


# Fragments a statement may name, filled in before the tables and lists.
_FRAGMENTS = {
    # The hosts of the judged hosts' clusters (the judged ones included, if in a cluster).
    "members": "SELECT p.host_id FROM {member} p JOIN {member} q ON q.cluster_id = p.cluster_id "
    "WHERE q.host_id IN ({judged})",
    "clusters": "SELECT q.cluster_id FROM {member} q WHERE q.host_id IN ({judged})",
}
_NAME = re.compile(r"\{(\w+)\}")


def _statement(sql: str, **lists: list) -> tuple[str, list]:
    """`sql` with its `{fragment}`s and `{table}` names filled in, and each `{list}` made one
    placeholder per value (for IN), the values appended to the parameters in order: only
    identifiers and placeholders are formatted into SQL, every value is a parameter."""
    text, order = _filled(sql, tuple((name, len(values)) for name, values in lists.items()))
    return text, [value for name in order for value in lists[name]]


@lru_cache(maxsize=256)
def _filled(sql: str, lengths: tuple[tuple[str, int], ...]) -> tuple[str, tuple[str, ...]]:
    # Cached by the lists' lengths: formatting cost more than a statement's own parsing.
    sql = _NAME.sub(lambda m: _FRAGMENTS.get(m[1], m[0]), sql)
    sizes, order = dict(lengths), []

    def fill(m: re.Match) -> str:
        if m[1] in sizes:
            order.append(m[1])
            return ", ".join(["%s"] * sizes[m[1]])
        return _tables()[m[1]]

    return _NAME.sub(fill, sql), tuple(order)


def _run(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """The rows of each statement. PostgreSQL (client-side binding, Django's default) takes
    them all in one round trip, read back with nextset(); SQLite one at a time."""
    if not statements:
        return []
    with connection.cursor() as cursor:
        settings = connection.settings_dict.get("OPTIONS", {})
        if connection.vendor == "postgresql" and not settings.get("server_side_binding"):
            cursor.execute(
                "; ".join(s for s, _ in statements), [p for _, ps in statements for p in ps]
            )
            results = [cursor.fetchall()]
            while cursor.nextset():
                results.append(cursor.fetchall())
            return results
        results = []
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
        return results


def _when(value) -> datetime | None:
    """A datetime as the ORM would return it: aware, UTC. SQLite hands back naive values
    (and text for an aggregate); PostgreSQL aware ones."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _json(value, default):
    return default if value is None else json.loads(value)


def _key(kind: str, b64: str) -> str:
    return f"{kind} {fingerprint(b64)}" if b64 else ""


HOSTS = (
    "SELECT h.id, h.name, h.reachability, h.reachability_reason, h.roles, h.last_success_at, "
    "h.offered_key_type, h.offered_key_base64, h.host_key_type, h.host_key_base64, "
    "f.carp_preempt, f.carp_demotion, f.pfsync_present, f.pfsync_syncok, f.pf_states, "
    "f.pf_ruleset_hash, f.subsystem_errors FROM {host} h LEFT JOIN {facts} f ON f.host_id = h.id "
    "WHERE h.id IN ({judged}) OR h.id IN ({members})"
)
CLUSTERS = (
    "SELECT c.id, c.name, c.kind, m.host_id, m.role FROM {member} m "
    "JOIN {cluster} c ON c.id = m.cluster_id JOIN {host} h ON h.id = m.host_id "
    "WHERE m.cluster_id IN ({clusters}) ORDER BY c.name, c.id, m.role, h.name"
)
# When the host last became MASTER for a vhid: its last StatusEvent saying so (the subject
# is how hosts.polling.store.carp names a vhid: "vhid N@interface").
VHIDS = (
    "SELECT v.host_id, v.interface, v.vhid, v.state, v.advbase, v.advskew, v.vips, "
    "(SELECT MAX(e.at) FROM {event} e WHERE e.host_id = v.host_id AND e.subject_type = 'carp' "
    "AND e.field = 'state' AND e.new = 'MASTER' "
    "AND e.subject = 'vhid ' || v.vhid || '@' || v.interface) "
    "FROM {vhid} v WHERE v.host_id IN ({members}) AND v.gone_at IS NULL "
    "ORDER BY v.host_id, v.vhid, v.id"
)
MIRRORS = (
    "SELECT m.host_id, m.id, m.name, m.state, c.name, c.state, c.synchronized_pct "
    "FROM {mirror} m LEFT JOIN {component} c ON c.mirror_id = m.id "
    "WHERE m.host_id IN ({judged}) AND m.gone_at IS NULL "
    "ORDER BY m.host_id, m.name, m.id, c.name, c.id"
)
POOLS = (
    "SELECT p.host_id, p.id, p.name, p.health, p.cap_pct, p.scan_kind, p.scan_state, "
    "p.scan_pct, p.scan_finished_at, d.name, d.state, d.read_errors, d.write_errors, "
    "d.cksum_errors, d.section, d.depth FROM {pool} p LEFT JOIN {device} d ON d.pool_id = p.id "
    "WHERE p.host_id IN ({judged}) AND p.gone_at IS NULL "
    "ORDER BY p.host_id, p.name, p.id, d.position, d.id"
)
STOPPED_JAILS = (
    "SELECT host_id, name FROM {jail} WHERE host_id IN ({judged}) AND NOT running "
    "AND gone_at IS NULL ORDER BY host_id, name"
)
BACKENDS = (
    "SELECT b.host_id, b.id, b.name, b.status, s.name, s.status FROM {backend} b "
    "LEFT JOIN {server} s ON s.backend_id = b.id AND s.gone_at IS NULL "
    "WHERE b.host_id IN ({judged}) AND b.gone_at IS NULL "
    "ORDER BY b.host_id, b.name, b.id, s.name, s.id"
)
# Each job with its last finished run and its last good restore point: a run that exited
# with a code in GOOD_BACKUP_EXIT and whose snapshot was not found missing.
BACKUPS = (
    "SELECT j.target_id, j.id, j.name, j.source_id, s.name, j.schedule_minutes, j.created_at, "
    "r.exit_code, r.finished_at, r.error_lines, r.snapshot_verified, "
    "(SELECT MAX(g.finished_at) FROM {run} g WHERE g.job_id = j.id AND g.exit_code IN ({good}) "
    "AND (g.snapshot_verified IS NULL OR g.snapshot_verified)) "
    "FROM {job} j JOIN {host} s ON s.id = j.source_id "
    "LEFT JOIN {run} r ON r.id = (SELECT l.id FROM {run} l WHERE l.job_id = j.id "
    "AND l.finished_at IS NOT NULL ORDER BY l.started_at DESC LIMIT 1) "
    "WHERE j.target_id IN ({judged}) ORDER BY j.name"
)
# A judged host's scopes: "host:H", "poll:H", and "cluster:C" for each of its clusters.
FINDINGS = (
    "SELECT id, dedup_key, scope, kind, severity, host_id, cluster_id, subject, message, "
    "details FROM {finding} WHERE scope IN ({scopes}) "
    "OR scope IN (SELECT 'cluster:' || q.cluster_id FROM {member} q "
    "WHERE q.host_id IN ({judged}))"
)
FINDINGS_BY_SCOPE = (
    "SELECT id, dedup_key, scope, kind, severity, host_id, cluster_id, subject, message, "
    "details FROM {finding} WHERE scope IN ({scopes})"
)
FINDINGS_BY_KEY = (
    "SELECT id, dedup_key, scope, kind, severity, host_id, cluster_id, subject, message, "
    "details FROM {finding} WHERE dedup_key IN ({keys})"
)


# For hosts.health.store.pf_states_matter: each cluster's members' pf state counts, and the
# kinds of finding stored for the cluster among `kinds`.
PF_STATES = (
    "SELECT c.id, c.name, c.kind, h.id, h.name, h.reachability, f.pf_states, m.role, "
    "(SELECT MIN(x.kind) FROM {finding} x WHERE x.scope = 'cluster:' || c.id "
    "AND x.kind IN ({kinds})) FROM {member} m JOIN {cluster} c ON c.id = m.cluster_id "
    "JOIN {host} h ON h.id = m.host_id LEFT JOIN {facts} f ON f.host_id = h.id "
    "WHERE m.cluster_id IN ({clusters}) ORDER BY c.name, c.id, m.role, h.name"
)


def load(host_ids: list[int]) -> JudgingInput:
    """What judging `host_ids` and their clusters reads: nine statements, one round trip
    on PostgreSQL, whatever the number of hosts."""
    judged = sorted(set(host_ids))
    scopes = [f"{kind}:{pk}" for pk in judged for kind in ("host", "poll")]
    good = list(GOOD_BACKUP_EXIT)
    statements = [
        _statement(HOSTS, judged=judged),
        _statement(CLUSTERS, judged=judged),
        _statement(VHIDS, judged=judged),
        _statement(MIRRORS, judged=judged),
        _statement(POOLS, judged=judged),
        _statement(STOPPED_JAILS, judged=judged),
        _statement(BACKENDS, judged=judged),
        _statement(BACKUPS, good=good, judged=judged),
        _statement(FINDINGS, scopes=scopes, judged=judged),
    ]
    hosts, clusters, vhids, mirrors, pools, stopped, backends, backups, findings = _run(statements)
    return JudgingInput(
        hosts=_host_states(hosts, _vhids(vhids), _mirrors(mirrors), _pools(pools),
                           _by_host(stopped), _backends(backends)),
        clusters=_memberships(clusters),
        backups=_backups(backups),
        findings=_findings(findings),
    )  # fmt: skip


def stored_findings(*, scopes: list[str] = (), keys: list[str] = ()) -> dict:
    """{dedup key: (pk, compared values)} of the findings stored under `scopes` and of those
    holding one of `keys` (hosts.health.store.replace_findings)."""
    statements = []
    if scopes:
        statements.append(_statement(FINDINGS_BY_SCOPE, scopes=list(scopes)))
    if keys:
        statements.append(_statement(FINDINGS_BY_KEY, keys=list(keys)))
    return {k: v for rows in _run(statements) for k, v in _findings(rows).items()}


def pf_states_of_clusters(host_id: int, kinds: list[str]) -> list[tuple[ClusterState, set]]:
    """Each cluster of a host with its members' names, reachability and pf state counts (a
    `ClusterState` of bare `HostState`s) and the kinds among `kinds` stored for it (at most
    one, the first by name: enough to say "one is open"). One query."""
    rows = _run([_statement(PF_STATES, kinds=kinds, judged=[host_id])])[0]
    clusters: dict[int, tuple] = {}
    for cid, name, kind, pk, host, reachability, pf_states, role, open_kind in rows:
        entry = clusters.setdefault(cid, (name, kind, [], {open_kind} - {None}))
        entry[2].append((HostState(pk, host, reachability, pf_states=pf_states), role))
    return [
        (ClusterState(cid, name, kind, tuple(members)), open_kinds)
        for cid, (name, kind, members, open_kinds) in clusters.items()
    ]


def _host_states(rows, vhids, mirrors, pools, stopped, backends) -> dict[int, HostState]:
    views = {}
    for (
        pk, name, reachability, reason, roles, last_success_at, offered_type, offered_b64,
        pinned_type, pinned_b64, preempt, demotion, pfsync_present, syncok, pf_states,
        ruleset, errors,
    ) in rows:  # fmt: skip
        views[pk] = HostState(
            id=pk,
            name=name,
            reachability=reachability,
            reason=reason,
            roles=tuple(_json(roles, [])),
            last_success_at=_when(last_success_at),
            offered_key=_key(offered_type, offered_b64),
            pinned_key=_key(pinned_type, pinned_b64),
            carp_preempt=preempt,
            carp_demotion=demotion,
            pfsync_present=None if pfsync_present is None else bool(pfsync_present),
            pfsync_syncok=syncok,
            pf_states=pf_states,
            # No facts row yet reads as HostFacts' defaults.
            pf_ruleset_hash=ruleset or "",
            vhids=tuple(vhids.get(pk, ())),
            mirrors=tuple(mirrors.get(pk, ())),
            pools=tuple(pools.get(pk, ())),
            stopped_jails=tuple(stopped.get(pk, ())),
            backends=tuple(backends.get(pk, ())),
            subsystem_errors=_json(errors, {}),
        )
    return views


def _memberships(rows) -> list[Membership]:
    clusters: dict[int, tuple[str, str, list]] = {}
    for cid, name, kind, member, role in rows:
        clusters.setdefault(cid, (name, kind, []))[2].append((member, role))
    return [Membership(cid, n, k, tuple(m)) for cid, (n, k, m) in clusters.items()]


def _by_host(rows) -> dict[int, list]:
    out = defaultdict(list)
    for host_id, value in rows:
        out[host_id].append(value)
    return out


def _vhids(rows) -> dict[int, list[VhidState]]:
    out = defaultdict(list)
    for host_id, interface, vhid, state, advbase, advskew, vips, since in rows:
        out[host_id].append(
            VhidState(
                interface, vhid, state, advbase, advskew, tuple(_json(vips, [])), _when(since)
            )
        )
    return out


def _mirrors(rows) -> dict[int, list[MirrorState]]:
    grouped: dict[int, dict[int, tuple]] = defaultdict(dict)
    for host_id, mirror_id, name, state, component, component_state, pct in rows:
        entry = grouped[host_id].setdefault(mirror_id, (name, state, []))
        if component is not None:
            entry[2].append((component, component_state, pct))
    return {
        h: [MirrorState(n, s, tuple(c)) for n, s, c in mirrors.values()]
        for h, mirrors in grouped.items()
    }


def _pools(rows) -> dict[int, list[PoolState]]:
    grouped: dict[int, dict[int, tuple]] = defaultdict(dict)
    for host_id, pool_id, *pool, device, state, read, write, cksum, section, depth in rows:
        entry = grouped[host_id].setdefault(pool_id, (pool, []))
        if device is not None:
            entry[1].append(DeviceState(device, state, read, write, cksum, section, depth))
    return {
        h: [
            PoolState(name, health, cap, kind, scan_state, pct, _when(finished), tuple(devices))
            for (name, health, cap, kind, scan_state, pct, finished), devices in pools.values()
        ]
        for h, pools in grouped.items()
    }


def _backends(rows) -> dict[int, list[BackendState]]:
    grouped: dict[int, dict[int, tuple]] = defaultdict(dict)
    for host_id, backend_id, name, status, server, server_status in rows:
        entry = grouped[host_id].setdefault(backend_id, (name, status, []))
        if server is not None:
            entry[2].append((server, server_status))
    return {
        h: [BackendState(n, s, tuple(servers)) for n, s, servers in backends.values()]
        for h, backends in grouped.items()
    }


def _backups(rows) -> dict[int, list[BackupState]]:
    out = defaultdict(list)
    for (
        target_id, pk, name, source_id, source, schedule, created_at, exit_code, finished_at,
        error_lines, verified, last_success_at,
    ) in rows:  # fmt: skip
        errors = _json(error_lines, [])
        out[target_id].append(
            BackupState(
                id=pk,
                name=name,
                source_id=source_id,
                source=source,
                target_id=target_id,
                schedule_minutes=schedule,
                created_hint=_when(created_at),
                last_exit_code=exit_code,
                last_finished_at=_when(finished_at),
                last_error=errors[-1] if errors else "",
                last_snapshot_verified=None if verified is None else bool(verified),
                last_success_at=_when(last_success_at),
            )
        )
    return out


_COMPARED = ("scope", "kind", "severity", "host_id", "cluster_id", "subject", "message")


def _findings(rows) -> dict[str, tuple[int, dict]]:
    return {
        key: (pk, {**dict(zip(_COMPARED, values, strict=True)), "details": json.loads(details)})
        for pk, key, *values, details in rows
    }
