"""Customer impact: which customers and which of their services a problem touches, from the
topology nyiops already has (host owner, cluster owner and membership, jails placed by
requests, backup jobs of hosts and onto storage hosts).

Read-only and for the NOC side only: it names every affected customer, so it is never
shown to a customer. A fixed number of queries whatever the input size.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from customers.choices import ACTIVE_STATUSES
from customers.models import Customer, JailRequest


@dataclass(frozen=True)
class Impact:
    customer_id: int
    customer: str
    slug: str
    services: tuple[str, ...]


def impact_of(*, host_ids=(), cluster_ids=(), customer_ids=()) -> list[Impact]:
    from hosts.models import BackupJob, Cluster, ClusterMember, Host

    host_ids, cluster_ids = set(filter(None, host_ids)), set(filter(None, cluster_ids))
    services: dict[int, set[str]] = {cid: set() for cid in filter(None, customer_ids)}
    # A problem on a member is a problem of its clusters; a cluster problem touches members.
    for cluster_id, host_id in ClusterMember.objects.filter(
        Q(host_id__in=host_ids) | Q(cluster_id__in=cluster_ids)
    ).values_list("cluster_id", "host_id"):
        cluster_ids.add(cluster_id)
        host_ids.add(host_id)
    for customer_id, name, kind in Cluster.objects.filter(
        pk__in=cluster_ids, customer__isnull=False
    ).values_list("customer_id", "name", "kind"):
        services.setdefault(customer_id, set()).add(f"{name} ({kind})")
    for customer_id, name in Host.objects.filter(
        pk__in=host_ids, customer__isnull=False
    ).values_list("customer_id", "name"):
        services.setdefault(customer_id, set()).add(f"host {name}")
    for customer_id, name, host in JailRequest.objects.filter(
        host_id__in=host_ids, status__in=ACTIVE_STATUSES
    ).values_list("customer_id", "name", "host__name"):
        services.setdefault(customer_id, set()).add(f"jail {name} on {host}")
    for customer_id, name in BackupJob.objects.filter(
        Q(source_id__in=host_ids) | Q(target_id__in=host_ids), source__customer__isnull=False
    ).values_list("source__customer_id", "name"):
        services.setdefault(customer_id, set()).add(f"backup {name}")
    names = dict(
        (pk, (name, slug))
        for pk, name, slug in Customer.objects.filter(pk__in=services).values_list(
            "pk", "name", "slug"
        )
    )
    return sorted(
        (
            Impact(pk, names[pk][0], names[pk][1], tuple(sorted(svc)))
            for pk, svc in services.items()
            if pk in names
        ),
        key=lambda i: i.customer,
    )


def open_impacts(limit: int = 50) -> list[Impact]:
    """Customers touched by an open root alert, for the NOC overview."""
    from django.apps import apps

    if not apps.is_installed("alerts"):
        return []
    Alert = apps.get_model("alerts", "Alert")
    rows = list(Alert.objects.open().roots().values_list("host_id", "cluster_id", "customer_id"))
    return impact_of(
        host_ids=[r[0] for r in rows],
        cluster_ids=[r[1] for r in rows],
        customer_ids=[r[2] for r in rows],
    )[:limit]
