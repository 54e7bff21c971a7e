"""Cluster health for the API: the dashboard's cluster view builder, whose every verdict,
tone and staleness comes from the one judge (hosts/health/verdicts.py).

This module only adapts those views to plain dicts; it decides nothing."""

from django.utils import timezone

from hosts.choices import ClusterKind
from hosts.dashboard.clusters import cluster_views

ALL_KINDS = tuple(ClusterKind.values)


def judge(clusters_qs) -> list[dict]:
    """One dict per cluster of `clusters_qs` (a fixed number of queries), worst first."""
    return [_as_dict(v) for v in cluster_views(clusters_qs, timezone.now(), ALL_KINDS)]


def _verdict(v) -> dict | None:
    return {"tone": v.tone, "text": v.text} if v is not None else None


def _as_dict(view) -> dict:
    return {
        "id": view.id,
        "name": view.name,
        "kind": view.kind,
        "customer": view.customer,
        "tone": view.tone,
        "word": view.word,
        "summary": view.summary,
        "stale": view.stale,
        "masters": list(view.masters),
        "failover": _verdict(view.failover),
        "drift": list(view.drift),
        "members": [
            {
                "host_id": m.host_id,
                "name": m.name,
                "role": m.role,
                "freshness": m.freshness,
                "reason": m.reason,
                "last_success_at": m.last_success_at,
                "pf_states": m.pf_states,
                "pfsync": _verdict(m.pfsync),
            }
            for m in view.members
        ],
        "vhids": [
            {
                "vhid": v.vhid,
                "interface": v.interface,
                "vips": v.vips,
                "verdict": _verdict(v.verdict),
                "members": [
                    {"host": host, "state": state, "fresh": fresh} for host, state, fresh in v.cells
                ],
            }
            for v in view.vhids
        ],
        "backends": [
            {
                "name": b.name,
                "verdict": _verdict(b.verdict),
                "members": [
                    {"host": h, "up": up, "total": total, "status": status, "scur": scur}
                    for h, up, total, status, scur in b.cells
                ],
            }
            for b in view.backends
        ],
        "jails": [{"host": h, "running": r, "total": t} for h, r, t in view.jails],
        "findings": [{"severity": s, "message": m} for s, m in view.findings],
    }
