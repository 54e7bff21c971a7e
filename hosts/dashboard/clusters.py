"""Clusters as units for the dashboard: both members' observed state merged into one view
with verdicts (per-VHID master, pfsync, "would a failover keep connections?", backend
capacity, config drift). A fixed number of queries for any number of clusters; the verdict
functions are pure and take only what was loaded."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from hosts.choices import ClusterKind
from hosts.dashboard.common import Filters, digest, health_matches
from hosts.health.verdicts import (
    DEFAULT_THRESHOLDS,
    TONE_RANK,
    Thresholds,
    Verdict,
    backend_verdict,
    configured_thresholds,
    freshness,
    member_tone,
    pfsync_verdict,
    state_divergence,
    worst,
)
from hosts.models import (
    CarpVhid,
    Cluster,
    ClusterMember,
    Finding,
    HaproxyBackend,
    HaproxyServer,
    Jail,
)


@dataclass(frozen=True)
class MemberView:
    host_id: int
    name: str
    role: str
    freshness: str
    reason: str
    last_success_at: datetime | None
    pf_states: int | None
    pfsync: Verdict
    ruleset: str
    preempt: int | None
    demotion: int | None
    reachability: str = "ok"  # a key waiting for approval is judged apart from an outage


@dataclass(frozen=True)
class VhidView:
    vhid: int
    interface: str
    cells: tuple[tuple[str, str, bool], ...]  # (host, state or "", fresh) per member
    vips: str
    verdict: Verdict


@dataclass(frozen=True)
class BackendView:
    name: str
    cells: tuple[tuple[str, int, int, str, int | None], ...]  # host, up, total, status, scur
    verdict: Verdict


@dataclass(frozen=True)
class ClusterView:
    id: int
    name: str
    kind: str
    customer: str
    members: tuple[MemberView, ...]
    vhids: tuple[VhidView, ...]
    failover: Verdict | None
    backends: tuple[BackendView, ...]
    jails: tuple[tuple[str, int, int], ...]  # host, running, total
    findings: tuple[tuple[str, str], ...]  # severity, message
    drift: tuple[str, ...]
    masters: tuple[str, ...]
    stale: bool
    tone: str
    summary: str

    @property
    def word(self) -> str:
        return {"ok": "healthy", "warning": "warning", "critical": "critical"}.get(
            self.tone, "unknown"
        )


@dataclass
class Loaded:
    """What the queries returned, and a digest of it: equal digests mean equal views, so a
    caller holding that digest needs no views built at all."""

    clusters: list
    members: dict
    vhids: dict
    backends: dict
    servers: dict
    jails: dict
    findings: dict
    version: str
    thresholds: Thresholds = DEFAULT_THRESHOLDS


def cluster_views(clusters_qs, now, kinds) -> list[ClusterView]:
    """Views of every cluster in `clusters_qs`, most severe first."""
    return build_views(load_clusters(clusters_qs, now, kinds))


def build_views(data: Loaded) -> list[ClusterView]:
    views = [
        build_view(
            c,
            data.members[c[0]],
            data.vhids,
            data.backends,
            data.jails,
            data.findings,
            data.servers,
            data.thresholds,
        )
        for c in data.clusters
    ]
    views.sort(key=lambda v: (-TONE_RANK.get(v.tone, 1), v.name))
    return views


def load_clusters(clusters_qs, now, kinds) -> Loaded:
    """The rows behind the views. The queries run depend on `kinds` (what the caller asked
    for), never on the data, so the count is fixed."""
    clusters = list(
        clusters_qs.values_list("pk", "name", "kind", "customer__name").order_by("name")
    )
    kinds = set(kinds)
    t = configured_thresholds()
    members = defaultdict(list)
    for row in ClusterMember.objects.filter(cluster__in=clusters_qs).values_list(
        "cluster_id", "host_id", "role", "host__name", "host__reachability",
        "host__reachability_reason", "host__last_success_at", "host__poll_interval",
        "host__facts__pf_states", "host__facts__pfsync_present", "host__facts__pfsync_syncok",
        "host__facts__pf_ruleset_hash", "host__facts__carp_preempt",
        "host__facts__carp_demotion",
    ).order_by("cluster_id"):  # fmt: skip
        (cid, hid, role, name, reach, reason, last_ok, interval, states, present, syncok) = row[:11]
        fresh = freshness(reach, last_ok, interval, now, t)
        members[cid].append(
            MemberView(
                hid, name, role, fresh, reason, last_ok, states,
                pfsync_verdict(present, syncok, fresh), row[11] or "", row[12], row[13], reach,
            )
        )  # fmt: skip
    for group in members.values():
        group.sort(key=lambda m: (m.role != "primary", m.name))  # primary on the left
    member_hosts = ClusterMember.objects.filter(cluster__in=clusters_qs).values("host_id")
    vhids = defaultdict(list)
    if kinds & {ClusterKind.FIREWALL, ClusterKind.LOADBALANCER, ClusterKind.VPN}:
        for row in (
            CarpVhid.objects.present()
            .filter(host__in=member_hosts)
            .values_list("host_id", "interface", "vhid", "state", "advbase", "vips")
            .order_by("vhid", "interface")
        ):
            vhids[row[0]].append(row[1:])
    backends = defaultdict(list)
    servers = defaultdict(list)
    if ClusterKind.LOADBALANCER in kinds:
        for row in (
            HaproxyBackend.objects.present()
            .filter(host__in=member_hosts)
            .values_list("host_id", "name", "servers_up", "servers_total", "status", "scur")
            .order_by("name")
        ):
            backends[row[0]].append(row[1:])
        for host_id, backend, status in (
            HaproxyServer.objects.present()
            .filter(backend__host__in=member_hosts, backend__gone_at__isnull=True)
            .values_list("backend__host_id", "backend__name", "status")
            .order_by("backend__name", "name")
        ):
            servers[(host_id, backend)].append(status)
    jails = {}
    if ClusterKind.JAIL_SERVICE in kinds:
        jails = {
            r["host_id"]: (r["running"], r["total"])
            for r in Jail.objects.present()
            .filter(host__in=member_hosts)
            .values("host_id")
            .annotate(total=Count("pk"), running=Count("pk", filter=Q(running=True)))
        }
    findings = defaultdict(list)
    for cid, hid, severity, message in Finding.objects.filter(
        Q(cluster__in=clusters_qs) | Q(host__in=member_hosts)
    ).values_list("cluster_id", "host_id", "severity", "message"):
        findings[("c", cid) if cid else ("h", hid)].append((severity, message))
    # Ages are left out of the digest (the page's script keeps them current); freshness,
    # which changes what the view says, is in it.
    shown = [
        (m.host_id, m.role, m.name, m.freshness, m.reason, m.pf_states, m.pfsync, m.ruleset,
         m.preempt, m.demotion)
        for group in members.values()
        for m in group
    ]  # fmt: skip
    version = digest(clusters, shown, vhids, backends, servers, sorted(jails.items()), findings)
    return Loaded(clusters, members, vhids, backends, servers, jails, findings, version, t)


def failover_verdict(members: list[MemberView], t: Thresholds = DEFAULT_THRESHOLDS) -> Verdict:
    """Would a failover keep connections? Only if pfsync is in sync on both members and the
    state tables roughly agree, judged from data fresh enough to trust."""
    if len(members) < 2:
        return Verdict("warning", "Unknown: the pair has fewer than two members")
    untrusted = [m.name for m in members if m.freshness != "ok"]
    if untrusted:
        return Verdict("unknown", f"Can't tell: no fresh data from {', '.join(untrusted)}")
    unsynced = [f"{m.pfsync.text} on {m.name}" for m in members if m.pfsync.tone != "ok"]
    if unsynced:
        return Verdict("critical", f"No: pfsync {', '.join(unsynced)}; connections would drop")
    counts = [m.pf_states for m in members]
    if any(c is None for c in counts):
        return Verdict("unknown", "Can't tell: state counts not reported")
    hi, lo = max(counts), min(counts)
    share = state_divergence(counts, t)
    if share is not None:
        return Verdict(
            "warning", f"Doubtful: state tables differ by {share:.0%} ({hi:,} vs {lo:,})"
        )
    return Verdict("ok", f"Yes: pfsync in sync, state tables match ({hi:,} / {lo:,})")


def vhid_verdicts(members: list[MemberView], vhids: dict) -> tuple[list[VhidView], list[str]]:
    """One view per (interface, vhid) across the members, plus drift messages."""
    by_key: dict = defaultdict(dict)
    for m in members:
        for interface, vhid, state, advbase, vips in vhids.get(m.host_id, ()):
            by_key[(vhid, interface)][m.name] = (state, advbase, tuple(vips or ()))
    views, drift = [], []
    for (vhid, interface), seen in sorted(by_key.items()):
        fresh = {m.name for m in members if m.freshness == "ok"}
        # (host, state, trusted): a stale member's last-seen state is shown but not believed.
        cells = tuple((m.name, seen.get(m.name, ("",))[0], m.name in fresh) for m in members)
        masters = [n for n, (state, *_rest) in seen.items() if state == "MASTER" and n in fresh]
        missing = [m.name for m in members if m.name not in seen]
        silent = [m.name for m in members if m.name in seen and m.name not in fresh]
        if len(masters) > 1:
            verdict = Verdict("critical", f"split brain: MASTER on {', '.join(masters)}")
        elif silent and masters:
            verdict = Verdict(
                "warning", f"MASTER {masters[0]}; no fresh data from {', '.join(silent)}"
            )
        elif silent:
            verdict = Verdict("unknown", f"unknown: no fresh data from {', '.join(silent)}")
        elif not masters:
            verdict = Verdict("critical", "no MASTER")
        elif missing:
            verdict = Verdict("warning", f"MASTER {masters[0]}; missing on {', '.join(missing)}")
        else:
            verdict = Verdict("ok", f"MASTER {masters[0]}")
        if missing:
            drift.append(f"vhid {vhid}@{interface} missing on {', '.join(missing)}")
        if len({v[1] for v in seen.values()}) > 1:
            drift.append(f"vhid {vhid}: advbase differs")
        if len({v[2] for v in seen.values()}) > 1:
            drift.append(f"vhid {vhid}: VIP prefixes differ")
        vips = ", ".join(next(iter(seen.values()))[2])
        views.append(VhidView(vhid, interface, cells, vips, verdict))
    return views, drift


def backend_verdicts(
    members: list[MemberView], backends: dict, servers: dict | None = None, t=DEFAULT_THRESHOLDS
) -> list[BackendView]:
    """One view per backend across the members, judged from each member's server statuses
    (the same judge as the member_down and backend_capacity rules); the worst member wins."""
    by_name: dict = defaultdict(dict)
    for m in members:
        for name, up, total, status, scur in backends.get(m.host_id, ()):
            by_name[name][m.name] = (up, total, status, scur, m.host_id)
    views = []
    for name, seen in sorted(by_name.items()):
        cells = tuple((host, *seen[host][:4]) for host in (m.name for m in members) if host in seen)
        verdicts = []
        for up, total, _status, _scur, host_id in seen.values():
            statuses = (servers or {}).get((host_id, name))
            if not statuses:
                # Rows from before servers were kept: judge by the counts alone.
                statuses = ["UP"] * (up or 0) + ["DOWN"] * max((total or 0) - (up or 0), 0)
            verdicts.append(backend_verdict(statuses, t))
        verdict = max(verdicts, key=lambda v: TONE_RANK.get(v.tone, 1))
        views.append(BackendView(name, cells, verdict))
    return views


def build_view(
    cluster, members, vhids, backends, jails, findings, servers=None, t=DEFAULT_THRESHOLDS
) -> ClusterView:
    pk, name, kind, customer = cluster
    vhid_views, drift = vhid_verdicts(members, vhids) if vhids else ([], [])
    if len({m.ruleset for m in members if m.ruleset}) > 1:
        drift.append("pf rulesets differ")
    if len({m.preempt for m in members if m.preempt is not None}) > 1:
        drift.append("net.inet.carp.preempt differs")
    failover = failover_verdict(members, t) if kind == ClusterKind.FIREWALL else None
    backend_views = backend_verdicts(members, backends, servers, t) if backends else []
    jail_counts = tuple((m.name, *jails.get(m.host_id, (0, 0))) for m in members) if jails else ()
    found = list(findings.get(("c", pk), ()))
    for m in members:
        found += findings.get(("h", m.host_id), ())
    found.sort(key=lambda f: -TONE_RANK.get(f[0], 1))
    tone = worst(
        "ok",
        *(member_tone(m.reachability, m.freshness) for m in members),
        *(v.verdict.tone for v in vhid_views),
        *(b.verdict.tone for b in backend_views),
        failover.tone if failover else "ok",
        *(sev for sev, _msg in found if sev != "info"),
        "warning" if drift else "ok",
    )
    masters = tuple(
        sorted(
            {h for v in vhid_views for h, state, fresh in v.cells if state == "MASTER" and fresh}
        )
    )
    return ClusterView(
        pk, name, kind, customer or "", tuple(members), tuple(vhid_views), failover,
        tuple(backend_views), jail_counts, tuple(found), tuple(drift), masters,
        any(m.freshness != "ok" for m in members), "warning" if tone == "unknown" else tone,
        summarize(kind, members, masters, backend_views, jail_counts),
    )  # fmt: skip


def summarize(kind, members, masters, backend_views, jail_counts) -> str:
    """The one line a healthy cluster's tile shows."""
    parts = [f"MASTER {', '.join(masters)}"] if masters else []
    if kind == ClusterKind.FIREWALL:
        states = " / ".join(f"{m.pf_states:,}" if m.pf_states is not None else "?" for m in members)
        parts.append(f"states {states}")
    if backend_views:
        up = sum(min(c[1] for c in b.cells) for b in backend_views)
        total = sum(max(c[2] for c in b.cells) for b in backend_views)
        parts.append(f"{len(backend_views)} backends, {up}/{total} servers UP")
    if jail_counts:
        parts.append("jails " + " + ".join(f"{run}/{tot}" for _h, run, tot in jail_counts))
    return " · ".join(parts)


CARD_LIMIT = 12  # expanded cluster cards per widget; the worst come first


def clusters(f: Filters, kind: str, known: str | None = None) -> dict:
    """Every cluster of one kind as one unit, problems first. Four to six queries. When
    `known` (the version the client holds) is still current, no views are built."""
    now = timezone.now()
    if f.kind and f.kind != kind:
        data = None
        version = digest(f.querystring())
    else:
        data = load_clusters(_cluster_qs(f, kind), now, {kind})
        version = digest(data.version, f.querystring())
    if known == version:
        return {"version": version, "unchanged": True}
    views = build_views(data) if data else []
    if f.health:
        views = [v for v in views if health_matches(v.tone, v.stale, f.health)]
    problems = [v for v in views if v.tone != "ok"]
    return {
        "kind": kind,
        "kind_label": ClusterKind(kind).label,
        "problems": problems[:CARD_LIMIT],
        "problems_more": max(len(problems) - CARD_LIMIT, 0),
        # Problems past the expanded cards still show, as tiles in their own colour and word.
        "healthy": problems[CARD_LIMIT:] + [v for v in views if v.tone == "ok"],
        "total": len(views),
        "generated_at": now,
        # Tiles build their links from this prefix: a {% url %} per tile costs more.
        "cluster_prefix": reverse("hosts:cluster", args=[0]).removesuffix("0/"),
        "version": version,
    }


def _cluster_qs(f: Filters, kind: str):
    qs = Cluster.objects.filter(kind=kind)
    if f.customer:
        qs = qs.filter(customer=f.customer)
    if f.site:
        qs = qs.filter(pk__in=Cluster.objects.filter(members__host__site=f.site).values("pk"))
    return qs
