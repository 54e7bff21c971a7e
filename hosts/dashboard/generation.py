"""The fleet's dashboard generation: `bump()` when something a NOC widget shows changed,
`current()` to learn whether anything did (one small query).

Who bumps (docs/dashboard.md lists what each widget reads):
- the poll's full path, in its transaction, when it stored a shown change (state rows,
  reachability, findings) — hosts/polling/run.py calls `bump()`; a counter sample alone
  (pf states, sessions) does not bump: counters reach the widgets with the cache's epoch;
- inventory edits (hosts, clusters, members, sites, customers, backup jobs), from the
  models' save/delete signals, in the editing transaction;
- a finding created outside a poll, and `findings_updated` (sent after commit by the
  stale-poll sweeper and any other judge) as a last word.

A bump is an upsert of the writing thread's own row (hosts.models.DashboardGeneration),
inside the caller's transaction: readers see the new generation exactly when they can see
the change, no two transactions ever wait for each other on it, and a bump outside a
transaction is one autocommitted statement. The generation is the rows' sum, which only
grows: a reader that read generation G and then the data may see data newer than G (and
cache it under G, harmlessly: the next reader reads G+1), never data older than G.

Must not: read or compute any widget; it only counts changes."""

from __future__ import annotations

import os
import socket
import threading
from functools import cache

from django.db import connection
from django.db.models.signals import post_delete, post_save

from customers.models import Customer
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


def _slot() -> str:
    # Per process and thread: two concurrent transactions never upsert the same row.
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{threading.get_ident()}"


@cache
def _sql() -> tuple[str, str]:
    table = connection.ops.quote_name(DashboardGeneration._meta.db_table)
    slot = connection.ops.quote_name("slot")
    value = connection.ops.quote_name("value")
    # Identifiers only from the model, quoted by the backend; the slot is a parameter.
    upsert = (
        f"INSERT INTO {table} ({slot}, {value}) VALUES (%s, 1) "  # noqa: S608
        f"ON CONFLICT ({slot}) DO UPDATE SET {value} = {table}.{value} + 1"
    )
    total = f"SELECT COALESCE(SUM({value}), 0) FROM {table}"  # noqa: S608
    return upsert, total


def bump() -> None:
    """Announce a change that a widget may show, in the caller's transaction (or alone)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql()[0], [_slot()])


def current() -> int:
    """The generation now: one aggregate over a handful of rows."""
    with connection.cursor() as cursor:
        cursor.execute(_sql()[1])
        return int(cursor.fetchone()[0])


def _on_inventory_change(sender, instance=None, update_fields=None, **kwargs) -> None:
    if sender is Host and update_fields and set(update_fields) <= POLL_FIELDS:
        return
    bump()


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
    post_save.connect(_on_inventory_change, sender=Finding, dispatch_uid="dashboard-gen-finding")
    post_delete.connect(_on_inventory_change, sender=Finding, dispatch_uid="dashboard-gen-f-del")
    findings_updated.connect(_on_findings_updated, dispatch_uid="dashboard-generation")
