"""Read side of the NOC overview: one context function per live widget, no writes.

Every function runs a fixed number of queries whatever the fleet size (joins, subqueries and
aggregates; never a query per row) and returns plain frozen dataclasses, so a widget's
`version` is a digest of exactly what its template shows: a poll that finds nothing new
leaves the digest unchanged and the partial view answers 204 without rendering. Ages are
not part of the digest (static/js/live.js keeps them current); staleness is, because it
changes what the widget says. Each takes `known`, the version the client holds: the cluster
widgets, the costly ones, compare it before building any view; the others are cheap enough
to build and compare after."""

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
