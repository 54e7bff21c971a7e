"""The dashboard's generations: `bump(topics)` when something NOC widgets show changed,
`current(topic)` / `by_topic()` to learn whether anything did (one small query).

A topic is what one overview widget reads: `findings`, `hosts`, `storage`, `backups`, and
the cluster widgets, one per kind (`firewalls`, `loadbalancers`, `jailservices`; a cluster's
own card goes with its kind). A change bumps every topic that may show it, so a jail that
stops does not make the firewall widget compute again; when in doubt, every topic.

Who bumps (docs/dashboard.md lists what each widget reads):
- the poll's full path, in its transaction, when it stored a shown change (state rows,
  reachability, findings) — hosts/polling/run.py calls `bump(topics_for_host(...))`: the
  topics of every host (findings, hosts, storage, backups) and the cluster widgets of the
  host's own clusters, the only ones that show it. A counter sample alone (pf states,
  sessions) does not bump: counters reach the widgets with the cache's epoch;
- inventory edits (hosts, clusters, members, sites, customers, backup jobs), from the
  models' save/delete signals, in the editing transaction: every topic;
- a finding saved or deleted outside a poll: its host's or cluster's topics; and
  `findings_updated` (sent after commit by the stale-poll sweeper and any other judge) as a
  last word: every topic.

A bump is an upsert of the writing thread's own row per topic (hosts.models.
DashboardGeneration), inside the caller's transaction: readers see the new generation
exactly when they can see the change, no two transactions ever wait for each other on it,
and a bump outside a transaction is one autocommitted statement. A topic's generation is its
rows' sum, which only grows: a reader that read generation G and then the data may see data
newer than G (and cache it under G, harmlessly: the next reader reads G+1), never data older
than G. `fold_idle_slots` (hourly) sums the rows of writers idle for a day into one row per
topic, in one transaction, so the sums stay as they were and the table stays small.

Must not: read or compute any widget; it only counts changes."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from customers.models import Customer
from hosts.choices import ClusterKind
from hosts.models import (
    BackupJob,
    Cluster,
    ClusterMember,
    DashboardGeneration,
    Finding,
    Host,
    Site,
)
from hosts.signals import findings_updated

# The cluster widgets' topics, by cluster kind (a cluster's own card is in its kind's).
CLUSTER_TOPICS = {
    ClusterKind.FIREWALL: "firewalls",
    ClusterKind.LOADBALANCER: "loadbalancers",
    ClusterKind.JAIL_SERVICE: "jailservices",
    ClusterKind.VPN: "vpn",
}
# What shows any host, whatever its clusters.
HOST_TOPICS = ("findings", "hosts", "storage", "backups")
TOPICS = (*HOST_TOPICS, *CLUSTER_TOPICS.values())
FOLDED = "folded"
IDLE_BEFORE_FOLDING = timedelta(days=1)

# The fields the poll's own Host save writes: a save touching only these is the poller's
# bookkeeping (or its change, which the poller announces itself when it shows).
POLL_FIELDS = frozenset(
    {
        "reachability",
        "reachability_reason",
        "last_success_at",
        "last_poll_at",
        "last_poll_duration_ms",
        "offered_key_type",
        "offered_key_base64",
        "offered_key_seen_at",
        "poll_claim",
        "poll_claimed_until",
        "next_poll_at",
    }
)


def cluster_topic(kind: str) -> str:
    return CLUSTER_TOPICS[kind]


def _writer() -> str:
    # Per process and thread: two concurrent transactions never upsert the same row.
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{threading.get_ident()}"


@cache
def _table() -> tuple[str, str, str, str, str]:
    quote = connection.ops.quote_name
    meta = DashboardGeneration._meta
    return (
        quote(meta.db_table),
        *(quote(meta.get_field(name).column) for name in ("slot", "topic", "value", "updated_at")),
    )


@cache
def _upsert_sql(rows: int) -> str:
    table, slot, topic, value, updated_at = _table()
    values = ", ".join(["(%s, %s, 1, %s)"] * rows)
    # Identifiers only from the model, quoted by the backend; slots and topics are parameters.
    return (
        f"INSERT INTO {table} ({slot}, {topic}, {value}, {updated_at}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({slot}) DO UPDATE SET {value} = {table}.{value} + 1, "
        f"{updated_at} = EXCLUDED.{updated_at}"
    )


def bump(topics: Iterable[str] = TOPICS) -> None:
    """Announce a change that the widgets of `topics` (default: all) may show, in the
    caller's transaction (or alone): one statement."""
    topics = sorted(set(topics))  # the same row order in every writer
    unknown = set(topics) - set(TOPICS)
    if unknown:
        raise ValueError(f"unknown dashboard topics: {sorted(unknown)}")
    if not topics:
        return
    writer, now = _writer(), timezone.now()
    params = [p for t in topics for p in (f"{writer}|{t}", t, now)]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(len(topics)), params)


def current(topic: str | None = None) -> int:
    """The generation of `topic` now (of every topic together when None): one aggregate
    over a handful of rows."""
    table, _slot, topic_col, value, _updated = _table()
    sql = f"SELECT COALESCE(SUM({value}), 0) FROM {table}"  # noqa: S608
    with connection.cursor() as cursor:
        if topic is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql + f" WHERE {topic_col} = %s", [topic])
        return int(cursor.fetchone()[0])


def by_topic() -> dict[str, int]:
    """Every topic's generation now, in one query (the overview shows them all)."""
    table, _slot, topic, value, _updated = _table()
    sql = f"SELECT {topic}, SUM({value}) FROM {table} GROUP BY {topic}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        sums = dict(cursor.fetchall())
    return {t: int(sums.get(t) or 0) for t in TOPICS}


def topics_for_host(host_id: int) -> set[str]:
    """The topics a change of this host's state may show on: every host's, and its own
    clusters' kinds (one query)."""
    kinds = ClusterMember.objects.filter(host_id=host_id).values_list("cluster__kind", flat=True)
    return {*HOST_TOPICS, *(cluster_topic(k) for k in kinds)}


def _topics_for_finding(finding: Finding) -> set[str]:
    if finding.host_id is not None:
        return topics_for_host(finding.host_id)
    kind = Cluster.objects.filter(pk=finding.cluster_id).values_list("kind", flat=True).first()
    # A cluster deleted with its findings: its kind is gone, and so is what showed it.
    return {*HOST_TOPICS, *([cluster_topic(kind)] if kind else CLUSTER_TOPICS.values())}


@transaction.atomic
def fold_idle_slots(now=None) -> int:
    """Sum the rows of writers idle for a day (threads and processes long gone, most of
    them) into one row per topic. Each topic's sum is the same before and after, in one
    transaction; a writer that comes back starts a new row. Returns the rows folded."""
    cutoff = (now or timezone.now()) - IDLE_BEFORE_FOLDING
    idle = list(
        DashboardGeneration.objects.select_for_update()
        .filter(updated_at__lt=cutoff)
        .exclude(slot__startswith=f"{FOLDED}|")
        .values_list("slot", "topic", "value")
    )
    sums: dict[str, int] = {}
    for _slot, topic, value in idle:
        sums[topic] = sums.get(topic, 0) + value
    folded, _ = DashboardGeneration.objects.filter(slot__in=[row[0] for row in idle]).delete()
    for topic, total in sums.items():
        row, _ = DashboardGeneration.objects.select_for_update().get_or_create(
            slot=f"{FOLDED}|{topic}", defaults={"topic": topic}
        )
        row.value += total
        row.save(update_fields=["value"])
    return folded


def _on_inventory_change(sender, instance=None, update_fields=None, **kwargs) -> None:
    if sender is Host and update_fields and set(update_fields) <= POLL_FIELDS:
        return
    bump()


def _on_finding_change(sender, instance: Finding, **kwargs) -> None:
    bump(_topics_for_finding(instance))


def _on_findings_updated(sender, **kwargs) -> None:
    bump()


def connect() -> None:
    """Wire the signals (HostsConfig.ready). The poll path bumps explicitly instead: its
    rows are saved many ways (update(), bulk) and only it knows a counter from a change."""
    for model in (Host, Cluster, ClusterMember, Site, Customer, BackupJob):
        uid = f"dashboard-generation-{model.__name__}"
        post_save.connect(_on_inventory_change, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(_on_inventory_change, sender=model, dispatch_uid=uid + "-delete")
    # Findings are written by the judge inside the poll (which bumps too), by sweepers and
    # by hand: creating and deleting them through the ORM always bumps. Deleting a queryset
    # of findings then loads the rows first, which only happens when some were resolved.
    post_save.connect(_on_finding_change, sender=Finding, dispatch_uid="dashboard-gen-finding")
    post_delete.connect(_on_finding_change, sender=Finding, dispatch_uid="dashboard-gen-f-del")
    findings_updated.connect(_on_findings_updated, dispatch_uid="dashboard-generation")
