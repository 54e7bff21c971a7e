"""Fleet search: hosts, clusters, jails, VIPs and customers by substring."""

from __future__ import annotations

from django.db.models import Q

from customers.models import Customer
from hosts.models import (
    CarpVhid,
    Cluster,
    Host,
    Jail,
)

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
