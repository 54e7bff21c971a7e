"""The whole NOC overview page: every widget's context at once (each partial view calls
one builder alone). Must not: compute anything a widget builder does not."""

from __future__ import annotations

from hosts.choices import ClusterKind
from hosts.dashboard.backups import backups
from hosts.dashboard.clusters import (
    clusters,
)
from hosts.dashboard.common import Filters
from hosts.dashboard.findings import findings
from hosts.dashboard.hosts import hosts_attention
from hosts.dashboard.storage import storage


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
