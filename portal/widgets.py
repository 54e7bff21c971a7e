"""Read side of the customer portal: one context function per live widget, no writes.

Every function takes the customer (from `customer_of()`, never from the URL) and starts its
querysets from that customer, so nothing of another tenant can reach a widget. Verdicts come
from the NOC's one judge (the cluster views and backup verdicts of the dashboard) and are
only translated here into customer words: no threshold of its own. NOC text (findings,
summaries, alert subjects) is never shown: it may name another customer's host on a shared
cluster. Each result carries `version`, a digest of what the widget shows, so an unchanged
widget answers 204.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from customers.choices import ACTIVE_STATUSES, RequestStatus
from customers.models import Customer, JailRequest
from hosts.choices import ClusterKind
from hosts.dashboard.backups import backups as backup_verdicts
from hosts.dashboard.clusters import cluster_views
from hosts.dashboard.common import Filters, digest
from hosts.health.verdicts import GOOD_BACKUP_EXIT
from hosts.models import BackupJob, BackupRun, Cluster, ClusterMember, Jail

KIND_WORDS = {
    ClusterKind.FIREWALL: "Firewall pair",
    ClusterKind.LOADBALANCER: "Load-balancer pair",
    ClusterKind.JAIL_SERVICE: "Jail service",
    ClusterKind.VPN: "VPN",
}
TONE_WORDS = {
    "ok": "healthy",
    "warning": "degraded: our NOC is on it",
    "critical": "at risk: our NOC is working on it",
}


@dataclass(frozen=True)
class ServiceRow:
    id: int
    name: str
    kind: str
    tone: str
    words: str
    members: tuple[str, ...]  # the customer's own member hosts only
    shared_members: int  # members of someone else (a shared cluster), counted, never named


@dataclass(frozen=True)
class JailRow:
    id: int
    name: str
    hostname: str
    host: str
    host_id: int
    ips: tuple[str, ...]
    running: bool
    request_id: int | None
    action_url: str = ""
    twin_url: str = ""
    destroy_url: str = ""
    resize_url: str = ""


@dataclass(frozen=True)
class BackupJobRow:
    name: str
    host: str
    last_good_at: datetime | None
    snapshot: str


@dataclass(frozen=True)
class IncidentRow:
    opened_at: datetime
    service: str
    severity: str
    state: str


@dataclass(frozen=True)
class MaintenanceRow:
    starts_at: datetime
    ends_at: datetime | None
    service: str
    reason: str


@dataclass(frozen=True)
class RequestRow:
    id: int
    name: str
    hostname: str
    ip: str
    purpose: str
    status: str
    status_label: str
    status_text: str
    created_at: datetime


def service_words(kind: str, tone: str, failover_tone: str | None, stale: bool) -> str:
    """A cluster verdict as a customer reads it, e.g. "Firewall pair healthy, failover
    ready"."""
    label = KIND_WORDS.get(kind, "Service")
    if stale or tone not in TONE_WORDS:
        return f"{label}: status unknown right now (no fresh data); our NOC is told"
    words = f"{label} {TONE_WORDS[tone]}"
    if failover_tone is not None:
        words += ", failover ready" if failover_tone == "ok" else ", failover not ready"
    return words


def services(customer: Customer, known: str | None = None) -> dict:
    now = timezone.now()
    clusters = Cluster.objects.filter(customer=customer)
    views = cluster_views(clusters, now, set(ClusterKind.values))
    own = {}
    for cluster_id, name, host_customer in ClusterMember.objects.filter(
        cluster__in=clusters
    ).values_list("cluster_id", "host__name", "host__customer_id"):
        own.setdefault(cluster_id, [[], 0])
        if host_customer == customer.pk:
            own[cluster_id][0].append(name)
        else:
            own[cluster_id][1] += 1
    rows = []
    for v in views:
        names, shared = own.get(v.id, [[], 0])
        failover = v.failover.tone if v.failover else None
        rows.append(
            ServiceRow(
                v.id, v.name, KIND_WORDS.get(v.kind, v.kind), v.tone,
                service_words(v.kind, v.tone, failover, v.stale), tuple(sorted(names)), shared,
            )
        )  # fmt: skip
    return {"rows": rows, "generated_at": now, "version": digest(rows)}


def jails(customer: Customer, known: str | None = None) -> dict:
    now = timezone.now()
    request_ids = dict(
        JailRequest.objects.filter(customer=customer, status__in=ACTIVE_STATUSES)
        .exclude(host=None)
        .values_list("name", "pk")
    )
    # Reversed once, not once a row: a row's URLs differ only by the jail id.
    action = reverse("customers:jail-action", args=[0]).replace("/0/", "/{}/")
    twin = reverse("customers:request-new") + "?twin_of={}"
    destroy = reverse("customers:jail-destroy", args=[0]).replace("/0/", "/{}/")
    resize = reverse("customers:jail-resize", args=[0]).replace("/0/", "/{}/")
    rows = [
        JailRow(
            pk,
            name,
            hostname,
            host,
            host_id,
            tuple(ips or ()),
            running,
            request_ids.get(name),
            action.format(pk),
            twin.format(pk),
            destroy.format(pk),
            resize.format(pk),
        )
        for pk, name, hostname, host, host_id, ips, running in Jail.objects.present()
        .filter(host__customer=customer)
        .order_by("name", "host__name")
        .values_list("pk", "name", "hostname", "host__name", "host_id", "ipv4", "running")
    ]
    in_progress = [
        r
        for r in requests(customer)["rows"]
        if r.status in (RequestStatus.APPROVED, RequestStatus.PROVISIONING)
    ]
    return {
        "rows": rows,
        "in_progress": in_progress,
        "generated_at": now,
        "version": digest(rows, in_progress),
    }


def backups(customer: Customer, known: str | None = None) -> dict:
    """The restore point the customer would get (worst job, the judge's verdict) and the
    last good restore point of each job."""
    now = timezone.now()
    verdict = backup_verdicts(Filters(customer=customer))["rows"]
    verdict = verdict[0] if verdict else None
    good = (
        BackupRun.objects.filter(job=OuterRef("pk"), exit_code__in=GOOD_BACKUP_EXIT)
        .exclude(snapshot_verified=False)
        .order_by("-finished_at")
    )
    rows = [
        BackupJobRow(*row)
        for row in BackupJob.objects.filter(source__customer=customer)
        .annotate(
            last_good_at=Subquery(good.values("finished_at")[:1]),
            last_snapshot=Subquery(good.values("snapshot")[:1]),
        )
        .order_by("name")
        .values_list("name", "source__name", "last_good_at", "last_snapshot")
    ]
    rows = [r if r.last_good_at else BackupJobRow(r.name, r.host, None, "") for r in rows]
    summary = None
    if verdict is not None:
        summary = (verdict.tone, verdict.verdict, verdict.last_good_at)
    return {"rows": rows, "summary": summary, "generated_at": now, "version": digest(rows, summary)}


def _service_label(host_name: str | None, cluster_name: str | None, own_host: bool) -> str:
    if cluster_name:
        return cluster_name
    return host_name if own_host and host_name else "a shared service"


def incidents(customer: Customer, known: str | None = None) -> dict:
    """Open alerts touching the customer's services, and planned maintenance. Alert subjects
    are NOC text and are not shown; the service and severity are."""
    now = timezone.now()
    rows, maintenance = [], []
    if apps.is_installed("alerts"):
        Alert = apps.get_model("alerts", "Alert")
        Window = apps.get_model("alerts", "MaintenanceWindow")
        touching = Q(customer=customer) | Q(host__customer=customer) | Q(cluster__customer=customer)
        for opened, host, host_cust, cluster, cluster_cust, severity, state in (
            Alert.objects.open()
            .roots()
            .filter(touching)
            .order_by("-opened_at")
            .values_list(
                "opened_at", "host__name", "host__customer_id", "cluster__name",
                "cluster__customer_id", "severity", "state",
            )[:20]
        ):  # fmt: skip
            cluster = cluster if cluster_cust == customer.pk else None
            rows.append(
                IncidentRow(
                    opened, _service_label(host, cluster, host_cust == customer.pk),
                    severity, "being handled" if state == "acknowledged" else "open",
                )
            )  # fmt: skip
        for starts, ends, host, host_cust, cluster, cluster_cust, reason in (
            Window.objects.filter(touching, ends_at__gt=now)
            .order_by("starts_at")
            .values_list(
                "starts_at", "ends_at", "host__name", "host__customer_id", "cluster__name",
                "cluster__customer_id", "reason",
            )[:20]
        ):  # fmt: skip
            cluster = cluster if cluster_cust == customer.pk else None
            maintenance.append(
                MaintenanceRow(
                    starts, ends, _service_label(host, cluster, host_cust == customer.pk), reason
                )
            )
    maintenance += planned_operations(customer)
    return {
        "rows": rows,
        "maintenance": maintenance,
        "generated_at": now,
        "version": digest(rows, maintenance),
    }


def planned_operations(customer: Customer) -> list[MaintenanceRow]:
    """Operations planned or under way on the customer's hosts and clusters, named by their
    kind's title (the NOC's reason text is not shown)."""
    if not apps.is_installed("operations"):
        return []
    from operations import actions
    from operations.choices import ACTIVE_STATES

    Operation = apps.get_model("operations", "Operation")
    out = []
    for kind, state, created, approved, host, cluster in (
        Operation.objects.filter(state__in=ACTIVE_STATES)
        .filter(Q(host__customer=customer) | Q(cluster__customer=customer))
        .order_by("created_at")
        .values_list("kind", "state", "created_at", "approved_at", "host__name", "cluster__name")[
            :20
        ]
    ):
        try:
            title = actions.get(kind).title
        except KeyError:
            title = "Maintenance"
        word = "planned" if state == "planned" else "under way" if state != "approved" else "next"
        out.append(
            MaintenanceRow(approved or created, None, cluster or host or "", f"{title} ({word})")
        )
    return out


def requests(customer: Customer, known: str | None = None, limit: int = 20) -> dict:
    now = timezone.now()
    rows = [
        RequestRow(
            r.pk, r.name, r.hostname, r.ip, r.get_purpose_display(), r.status,
            r.get_status_display(), r.status_text, r.created_at,
        )
        for r in JailRequest.objects.filter(customer=customer)[:limit]
    ]  # fmt: skip
    return {"rows": rows, "generated_at": now, "version": digest(rows)}


def request_status(req: JailRequest) -> dict:
    row = (req.status, req.get_status_display(), req.status_text, req.host_id)
    return {"req": req, "generated_at": timezone.now(), "version": digest(row)}


WIDGETS = {
    "services": (services, "customers/partials/services.html", 15),
    "jails": (jails, "customers/partials/jails.html", 5),
    "backups": (backups, "customers/partials/backups.html", 60),
    "incidents": (incidents, "customers/partials/incidents.html", 15),
    "requests": (requests, "customers/partials/requests.html", 10),
}
