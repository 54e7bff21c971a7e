"""The findings widget: open findings, most severe first (read side, two queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from hosts.choices import ClusterKind
from hosts.dashboard.common import LIST_LIMIT, Filters, digest, host_filter
from hosts.models import (
    Finding,
    Host,
    Severity,
)

SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


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
