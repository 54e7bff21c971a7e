"""Read side of the NOC overview: one context function per live widget, no writes.

Every function runs a fixed number of queries whatever the fleet size (joins, subqueries and
aggregates; never a query per row) and returns plain frozen dataclasses, so a widget's
`version` is a digest of exactly what its template shows: a poll that finds nothing new
leaves the digest unchanged and the partial view answers 204 without rendering. Ages are
not part of the digest (static/js/live.js keeps them current); staleness is, because it
changes what the widget says. Each takes `known`, the version the client holds: the cluster
widgets, the costly ones, compare it before building any view; the others are cheap enough
to build and compare after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from hosts.choices import ClusterKind, HostRole
from hosts.dashboard_clusters import (
    STALE_AFTER_POLLS,
    Filters,
    build_views,
    digest,
    freshness,
    health_matches,
    host_filter,
    load_clusters,
)
from hosts.dashboard_storage import backups, storage
from hosts.models import (
    CarpVhid,
    Cluster,
    Finding,
    Host,
    Jail,
    Severity,
    Site,
)

LIST_LIMIT = 50  # rows per problem list; the widget says how many more there are
CARD_LIMIT = 12  # expanded cluster cards per widget; the worst come first
HEALTH_CHOICES = {
    "problems": "Problems only",
    "critical": "Critical",
    "warning": "Warning",
    "stale": "Stale or unreachable",
    "ok": "Healthy",
}
KIND_CHOICES = {**dict(ClusterKind.choices), **dict(HostRole.choices)}
SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def parse_filters(params) -> Filters:
    """Junk values are dropped with a message; never an exception. At most two queries."""
    errors = []
    customer = site = None
    slug = params.get("customer", "").strip()[:60]
    if slug:
        customer = Customer.objects.filter(slug=slug).first()
        if customer is None:
            errors.append(f"No customer “{slug}”: showing all customers.")
    slug = params.get("site", "").strip()[:60]
    if slug:
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            errors.append(f"No site “{slug}”: showing all sites.")
    kind = params.get("kind", "").strip()[:40]
    if kind and kind not in KIND_CHOICES:
        errors.append(f"Unknown kind “{kind}”: showing every kind.")
        kind = ""
    health = params.get("health", "").strip()[:20]
    if health and health not in HEALTH_CHOICES:
        errors.append(f"Unknown health “{health}”: showing every state.")
        health = ""
    return Filters(customer, site, kind, health, params.get("q", "").strip()[:100], tuple(errors))


def filter_options() -> dict:
    return {
        "customers": list(Customer.objects.values_list("slug", "name")),
        "sites": list(Site.objects.values_list("slug", "name")),
        "kinds": list(KIND_CHOICES.items()),
        "healths": list(HEALTH_CHOICES.items()),
    }


FRESHNESS_TONE = {"ok": "ok", "stale": "warning", "unreachable": "critical", "new": "info"}


@dataclass(frozen=True)
class HostRow:
    id: int
    name: str
    customer: str
    freshness: str
    reason: str
    last_success_at: datetime | None
    key_offered: bool


def hosts_attention(f: Filters, known: str | None = None) -> dict:
    """Hosts unreachable, stale, never polled or with a host key waiting for a decision,
    plus the fleet's freshness counts for the status line. Two queries."""
    now = timezone.now()
    rows = (
        Host.objects.filter(host_filter(f))
        .filter(enabled=True)
        .values_list(
            "id",
            "name",
            "customer__name",
            "reachability",
            "reachability_reason",
            "last_success_at",
            "poll_interval",
            "offered_key_seen_at",
        )
        .order_by("name")
        .distinct()
    )
    counts = {"ok": 0, "stale": 0, "unreachable": 0, "new": 0, "disabled": 0}
    attention = []
    newest = None
    for pk, name, customer, reach, reason, last_ok, interval, offered in rows:
        state = freshness(reach, last_ok, interval, now)
        counts[state] += 1
        if last_ok and (newest is None or last_ok > newest):
            newest = last_ok
        if state != "ok" or offered:
            if state == "stale":
                reason = f"no good poll for over {STALE_AFTER_POLLS} intervals ({interval}s)"
            attention.append(
                HostRow(pk, name, customer or "", state, reason, last_ok, bool(offered))
            )
    attention.sort(key=lambda r: (r.freshness != "unreachable", r.freshness != "stale", r.name))
    if f.health == "ok":
        attention = []
    total = sum(counts.values())
    return {
        "hosts": attention[:LIST_LIMIT],
        "more": max(len(attention) - LIST_LIMIT, 0),
        "counts": counts,
        "total": total,
        "newest_poll": newest,
        "generated_at": now,
        "version": digest(attention, counts),
    }


# --- findings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingRow:
    id: int
    severity: str
    kind: str
    subject: str
    message: str
    first_seen_at: datetime
    host_id: int | None
    host_name: str
    cluster_id: int | None
    cluster_name: str


def findings(f: Filters, known: str | None = None) -> dict:
    """Open findings, most severe first then oldest first. Two queries."""
    qs = Finding.objects.all()
    scope = host_filter(f)
    if scope:
        hosts = Host.objects.filter(scope).values("pk")
        q = Q(host__in=hosts) | Q(cluster__members__host__in=hosts)
        if f.customer:
            q |= Q(cluster__customer=f.customer)
        if f.kind in ClusterKind.values:
            q = Q(cluster__kind=f.kind) | Q(host__memberships__cluster__kind=f.kind)
        qs = qs.filter(pk__in=Finding.objects.filter(q).values("pk"))
    if f.health in (Severity.CRITICAL, Severity.WARNING):
        qs = qs.filter(severity=f.health)
    elif f.health == "ok":
        qs = qs.none()
    counts = qs.aggregate(
        critical=Count("pk", filter=Q(severity=Severity.CRITICAL)),
        warning=Count("pk", filter=Q(severity=Severity.WARNING)),
        info=Count("pk", filter=Q(severity=Severity.INFO)),
    )
    rows = (
        qs.order_by("first_seen_at")
        .values_list(
            "pk", "severity", "kind", "subject", "message", "first_seen_at",
            "host_id", "host__name", "cluster_id", "cluster__name",
        )[: LIST_LIMIT * 4]
    )  # fmt: skip
    items = sorted(
        (
            FindingRow(*(v if v is not None or i in (6, 8) else "" for i, v in enumerate(r)))
            for r in rows
        ),
        key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.first_seen_at),
    )[:LIST_LIMIT]
    total = sum(counts.values())
    return {
        "findings": items,
        "counts": counts,
        "total": total,
        "more": max(total - len(items), 0),
        "generated_at": timezone.now(),
        "version": digest(items, counts),
    }


# --- clusters ---------------------------------------------------------------------------


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


# --- the whole page ------------------------------------------------------------------------


def overview(f: Filters) -> dict:
    """Every widget's context for the full page (the partials each compute one)."""
    return {
        "findings": findings(f),
        "firewalls": clusters(f, ClusterKind.FIREWALL),
        "loadbalancers": clusters(f, ClusterKind.LOADBALANCER),
        "jailservices": clusters(f, ClusterKind.JAIL_SERVICE),
        "storage": storage(f),
        "backups": backups(f),
        "hosts": hosts_attention(f),
    }


SEARCH_LIMIT = 20


def search(q: str) -> dict:
    """Hosts, clusters, jails, VIPs and customers matching `q` (substring, any case). Five
    queries at most; an empty query searches nothing."""
    q = q.strip()
    if not q:
        return {"q": "", "total": 0}
    results = {
        "q": q,
        "hosts": list(
            Host.objects.filter(Q(name__icontains=q) | Q(address__icontains=q))
            .select_related("customer")
            .order_by("name")[:SEARCH_LIMIT]
        ),
        "clusters": list(
            Cluster.objects.filter(name__icontains=q)
            .select_related("customer")
            .order_by("name")[:SEARCH_LIMIT]
        ),
        "jails": list(
            Jail.objects.present()
            .filter(Q(name__icontains=q) | Q(hostname__icontains=q) | Q(ipv4__icontains=q))
            .select_related("host")
            .order_by("name")[:SEARCH_LIMIT]
        ),
        "vips": list(
            CarpVhid.objects.present()
            .filter(vips__icontains=q)
            .select_related("host")
            .order_by("host__name", "vhid")[:SEARCH_LIMIT]
        ),
        "customers": list(
            Customer.objects.filter(Q(name__icontains=q) | Q(slug__icontains=q))[:SEARCH_LIMIT]
        ),
    }
    results["total"] = sum(len(v) for v in results.values() if isinstance(v, list))
    return results
