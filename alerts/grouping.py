"""Root-cause grouping from the topology.

Rules, in order (the earliest-opened candidate wins, and chains are flattened so a child
always points at a top-level root):
1. An unreachable host (or one whose key changed) explains every other alert on that host
   and every alert of a cluster it is a member of (no_master, failover, diverged states...).
2. A second unreachable host in the same site joins the first one's alert: one dead site
   pages once, not once per host.
3. A cluster whose VIP is down (no_master) explains the other alerts of that cluster and
   the backend findings (member_down, backend_capacity) of its member hosts.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from alerts.choices import PAGE_ROOT_KINDS
from alerts.models import Alert
from hosts.models import ClusterMember, Host

VIP_ROOT_KINDS = ("no_master",)
VIP_CHILD_KINDS = ("member_down", "backend_capacity")


@dataclass
class Node:
    pk: int
    kind: str
    host_id: int | None
    cluster_id: int | None
    order: tuple  # (opened_at, pk): earliest first


@dataclass
class Topology:
    members: dict[int, set[int]] = field(default_factory=dict)  # cluster -> hosts
    clusters_of: dict[int, set[int]] = field(default_factory=dict)  # host -> clusters
    site_of: dict[int, int | None] = field(default_factory=dict)  # host -> site


def desired_parents(nodes: list[Node], topo: Topology) -> dict[int, int | None]:
    """Pure: for each alert node, the pk of the alert that explains it (or None)."""
    host_root: dict[int, Node] = {}
    site_root: dict[int, Node] = {}
    vip_root: dict[int, Node] = {}
    for n in sorted(nodes, key=lambda n: n.order):
        if n.kind in PAGE_ROOT_KINDS and n.host_id is not None:
            host_root.setdefault(n.host_id, n)
            site = topo.site_of.get(n.host_id)
            if site is not None:
                site_root.setdefault(site, n)
        if n.kind in VIP_ROOT_KINDS and n.cluster_id is not None:
            vip_root.setdefault(n.cluster_id, n)

    def direct(n: Node) -> Node | None:
        cands = []
        if n.kind in PAGE_ROOT_KINDS and n.host_id is not None:
            cands += [host_root.get(n.host_id), site_root.get(topo.site_of.get(n.host_id))]
        else:
            if n.host_id is not None:
                cands.append(host_root.get(n.host_id))
            if n.cluster_id is not None:
                cands += [host_root.get(h) for h in topo.members.get(n.cluster_id, ())]
            if not any(cands):
                if n.cluster_id is not None:
                    cands.append(vip_root.get(n.cluster_id))
                if n.kind in VIP_CHILD_KINDS and n.host_id is not None:
                    cands += [vip_root.get(c) for c in topo.clusters_of.get(n.host_id, ())]
        cands = [c for c in cands if c is not None and c.pk != n.pk]
        return min(cands, key=lambda c: c.order) if cands else None

    first = {n.pk: direct(n) for n in nodes}
    out = {}
    for n in nodes:
        parent, seen = first[n.pk], {n.pk}
        # Flatten chains (host root -> site root); the seen-set guards against any cycle.
        while parent is not None and first[parent.pk] is not None and parent.pk not in seen:
            seen.add(parent.pk)
            parent = first[parent.pk]
        out[n.pk] = parent.pk if parent is not None else None
    return out


def related_open_alerts(host_ids: set[int], cluster_ids: set[int]) -> tuple[list[Alert], Topology]:
    """Open alerts that grouping must look at together, and the topology around them."""
    topo = Topology()
    links = ClusterMember.objects.filter(
        Q(host_id__in=host_ids) | Q(cluster_id__in=cluster_ids)
    ).values_list("cluster_id", "host_id")
    cluster_ids = set(cluster_ids) | {c for c, _h in links}
    links = ClusterMember.objects.filter(cluster_id__in=cluster_ids).values_list(
        "cluster_id", "host_id"
    )
    for c, h in links:
        topo.members.setdefault(c, set()).add(h)
        topo.clusters_of.setdefault(h, set()).add(c)
    host_ids = set(host_ids) | {h for _c, h in links}
    topo.site_of = dict(Host.objects.filter(pk__in=host_ids).values_list("pk", "site_id"))
    sites = {s for s in topo.site_of.values() if s is not None}
    site_roots = Q(kind__in=PAGE_ROOT_KINDS, host__site_id__in=sites) if sites else Q(pk__in=[])
    alerts = list(
        Alert.objects.open()
        .filter(Q(host_id__in=host_ids) | Q(cluster_id__in=cluster_ids) | site_roots)
        .select_related("host")
    )
    for a in alerts:
        if a.host_id is not None and a.host_id not in topo.site_of:
            topo.site_of[a.host_id] = a.host.site_id if a.host else None
    return alerts, topo


def nodes_of(alerts: list[Alert]) -> list[Node]:
    return [Node(a.pk, a.kind, a.host_id, a.cluster_id, (a.opened_at, a.pk)) for a in alerts]
