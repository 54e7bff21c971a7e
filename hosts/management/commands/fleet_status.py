import json
from collections import defaultdict

from django.core.management.base import BaseCommand

from hosts.health.verdicts import tone_of, worst
from hosts.models import CarpVhid, Cluster, ClusterMember, Finding, Host
from hosts.models.findings import SEVERITY_RANK


def _worst(findings) -> str:
    return worst(*(tone_of(f.severity) for f in findings))


def fleet_status() -> dict:
    """The fleet in one JSON document, in a fixed number of queries."""
    findings = list(Finding.objects.order_by("-severity", "kind", "subject"))
    by_host, by_cluster = defaultdict(list), defaultdict(list)
    for f in findings:
        if f.host_id:
            by_host[f.host_id].append(f)
        if f.cluster_id:
            by_cluster[f.cluster_id].append(f)
    masters: dict[int, dict[int, list[str]]] = defaultdict(dict)
    vhids = (
        CarpVhid.objects.present().select_related("host").filter(host__memberships__isnull=False)
    )
    cluster_of = defaultdict(set)
    for cluster_id, host_id in ClusterMember.objects.values_list("cluster_id", "host_id"):
        cluster_of[host_id].add(cluster_id)
    for v in vhids.distinct():
        for cluster_id in cluster_of[v.host_id]:
            names = masters[cluster_id].setdefault(v.vhid, [])  # every vhid listed
            if v.state == "MASTER" and v.host.reachability == "ok":
                names.append(v.host.name)
    hosts = []
    for h in Host.objects.order_by("name"):
        health = _worst(by_host[h.pk])
        if h.reachability not in ("ok", "new") and health == "ok":
            health = "unknown"
        hosts.append(
            {
                "name": h.name,
                "health": health,
                "reachable": h.reachability == "ok",
                "reachability": h.reachability,
                "last_poll": h.last_poll_at.isoformat() if h.last_poll_at else None,
            }
        )
    clusters = [
        {
            "name": c.name,
            "kind": c.kind,
            "health": _worst(by_cluster[c.pk]),
            "vhids": [
                {"vhid": vhid, "master": names[0] if len(names) == 1 else (names or None)}
                for vhid, names in sorted(masters[c.pk].items())
            ],
        }
        for c in Cluster.objects.order_by("name")
    ]
    return {
        "hosts": hosts,
        "clusters": clusters,
        "findings": [
            {"kind": f.kind, "severity": f.severity, "subject": f.subject, "message": f.message}
            for f in sorted(findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.kind))
        ],
    }


class Command(BaseCommand):
    help = "Print the fleet's health: hosts, clusters with each vhid's MASTER, findings."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON (the default).")

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(fleet_status(), indent=2))
