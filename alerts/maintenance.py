"""Maintenance windows and silences: which one (if any) covers an alert right now.

A window on a host covers that host's alerts and those of its clusters (a planned reboot of
fw1a explains the pair's failover); a window on a cluster covers the cluster and its member
hosts; a window on a customer covers everything of that customer."""

from django.db.models import Q

from alerts.models import Alert, Expectation, MaintenanceWindow
from hosts.models import ClusterMember


def active_windows(now):
    return MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now)


def any_active(now) -> bool:
    return active_windows(now).exists()


def covering_window(alert: Alert, now) -> MaintenanceWindow | None:
    hosts = {alert.host_id} - {None}
    clusters = {alert.cluster_id} - {None}
    links = ClusterMember.objects.filter(
        Q(host_id__in=hosts) | Q(cluster_id__in=clusters)
    ).values_list("cluster_id", "host_id")
    for cluster_id, host_id in links:
        clusters.add(cluster_id)
        hosts.add(host_id)
    match = Q(host_id__in=hosts) | Q(cluster_id__in=clusters)
    if alert.customer_id:
        match |= Q(customer_id=alert.customer_id)
    return active_windows(now).filter(match).order_by("-ends_at").first()


def covering_expectation(alert: Alert, now) -> Expectation | None:
    """A change that predicted exactly this finding (operation-scoped silence)."""
    return (
        Expectation.objects.filter(dedup_key=alert.dedup_key, starts_at__lte=now, ends_at__gt=now)
        .order_by("-ends_at")
        .first()
    )
