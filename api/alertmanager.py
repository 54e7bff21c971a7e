"""Prometheus Alertmanager webhooks -> nyiops alerts, through the normal alert policy.

Each Alertmanager alert becomes a finding of its own scope (`am:<receiver>:<fingerprint>`),
stored by the one findings store, and `alerts.services.sync_alerts` takes it from there:
the same dedup (the finding's key), root-cause grouping (when a label names a known host or
cluster, a dead host explains it), routing, escalation, acknowledgement and auto-resolve.
Firing stores the finding; resolved clears it. This module maps labels and nothing else: it
never opens, pages or resolves an alert itself."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from alerts.services import SyncResult, sync_alerts
from api.models import AlertmanagerReceiver
from customers.models import Customer
from hosts.health.state import Problem
from hosts.health.store import replace_findings
from hosts.models import Cluster, Host

KIND = "alertmanager"
HOST_LABELS = ("nyiops_host", "host", "hostname", "instance", "nodename")
CLUSTER_LABELS = ("nyiops_cluster", "cluster", "pair")
CUSTOMER_LABELS = ("nyiops_customer", "customer", "tenant")
SEVERITY_WORDS = {
    "critical": "critical",
    "page": "critical",
    "error": "critical",
    "high": "critical",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
}


@dataclass
class Received:
    firing: int = 0
    resolved: int = 0
    matched_hosts: int = 0
    sync: SyncResult | None = None


def fingerprint_of(alert: dict) -> str:
    fp = str(alert.get("fingerprint") or "")
    if fp:
        return fp[:64]
    labels = json.dumps(alert.get("labels") or {}, sort_keys=True)
    return hashlib.sha256(labels.encode()).hexdigest()[:16]


def _first(labels: dict, names) -> str:
    for name in names:
        value = labels.get(name)
        if value:
            return str(value)
    return ""


def _host_name(value: str) -> str:
    # "fw1a:9100" (a Prometheus instance) and "fw1a.example.net" both name host fw1a.
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _lookups(alerts: list[dict]):
    """Hosts, clusters and customers the labels name, in three queries for the whole batch."""
    host_names, cluster_names, slugs = set(), set(), set()
    for a in alerts:
        labels = a.get("labels") or {}
        raw = _host_name(_first(labels, HOST_LABELS))
        if raw:
            host_names |= {raw, raw.split(".", 1)[0]}
        cluster_names.add(_first(labels, CLUSTER_LABELS))
        slugs.add(_first(labels, CUSTOMER_LABELS))
    hosts = {h.name: h for h in Host.objects.filter(name__in=host_names - {""})}
    hosts |= {h.address: h for h in Host.objects.filter(address__in=host_names - {""})}
    clusters = {c.name: c for c in Cluster.objects.filter(name__in=cluster_names - {""})}
    customers = {c.slug: c for c in Customer.objects.filter(slug__in=slugs - {""})}
    return hosts, clusters, customers


def to_finding(receiver: AlertmanagerReceiver, alert: dict, hosts, clusters, customers) -> Problem:
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (alert.get("annotations") or {}).items()}
    fp = fingerprint_of(alert)
    raw_host = _host_name(_first(labels, HOST_LABELS))
    host = hosts.get(raw_host) or hosts.get(raw_host.split(".", 1)[0])
    cluster = clusters.get(_first(labels, CLUSTER_LABELS))
    customer = customers.get(_first(labels, CUSTOMER_LABELS)) or receiver.customer
    name = labels.get("alertname", "alert")
    where = (host.name if host else "") or (cluster.name if cluster else "") or raw_host
    severity = SEVERITY_WORDS.get(labels.get("severity", "").lower(), receiver.default_severity)
    return Problem(
        kind=KIND,
        severity=severity,
        scope=f"am:{receiver.pk}:{fp[:16]}",
        dedup_key=f"alertmanager:{receiver.pk}:{fp}",
        subject=f"{name} {where}".strip()[:200],
        message=annotations.get("summary") or annotations.get("description") or name,
        host_id=host.pk if host else None,
        cluster_id=cluster.pk if cluster else None,
        details={
            "source": "alertmanager",
            "receiver": receiver.name,
            "labels": labels,
            "annotations": annotations,
            "starts_at": alert.get("startsAt"),
            "generator_url": alert.get("generatorURL", ""),
            "customer": customer.slug if customer else None,
            "customer_id": customer.pk if customer else None,
        },
    )


def receive(receiver: AlertmanagerReceiver, payload: dict, *, now=None) -> Received:
    """Apply one webhook payload (already shape-checked) in one transaction."""
    now = now or timezone.now()
    alerts = payload.get("alerts") or []
    hosts, clusters, customers = _lookups(alerts)
    out = Received()
    scopes = []
    with transaction.atomic():
        for alert in alerts:
            finding = to_finding(receiver, alert, hosts, clusters, customers)
            firing = alert.get("status") == "firing"
            replace_findings([finding.scope], [finding] if firing else [], now)
            scopes.append(finding.scope)
            out.firing += firing
            out.resolved += not firing
            out.matched_hosts += finding.host_id is not None
        AlertmanagerReceiver.objects.filter(pk=receiver.pk).update(last_received_at=now)
        out.sync = sync_alerts(scopes, now=now)
    return out
