"""Inventory writes that people make, each audited in the same transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.services import record
from hosts.choices import Reachability
from hosts.inventory.keys import fingerprint
from hosts.models import Host


class HostKeyDecisionError(ValueError):
    """Nothing to approve, or the key on offer is no longer the one the person saw."""


@transaction.atomic
def approve_host_key(host: Host, *, by, expected_fingerprint: str | None = None) -> Host:
    """Pin the key the host offered. `expected_fingerprint` is what the person confirmed:
    if the host has offered another key since, nothing is pinned (no time-of-check race)."""
    host = Host.objects.select_for_update().get(pk=host.pk)
    if not host.offered_key_base64:
        raise HostKeyDecisionError(f"{host.name} has no host key waiting for approval")
    offered = fingerprint(host.offered_key_base64)
    if expected_fingerprint is not None and expected_fingerprint != offered:
        raise HostKeyDecisionError(
            f"{host.name} now offers {offered}, not {expected_fingerprint}: look again"
        )
    before = {"host_key": host.host_key_fingerprint or None}
    host.host_key_type, host.host_key_base64 = host.offered_key_type, host.offered_key_base64
    host.offered_key_type, host.offered_key_base64, host.offered_key_seen_at = "", "", None
    host.host_key_approved_at = timezone.now()
    host.host_key_approved_by = by if getattr(by, "is_authenticated", False) else None
    host.reachability, host.reachability_reason = Reachability.NEW, "host key approved"
    host.next_poll_at = timezone.now()  # poll at once with the new pin
    host.save()
    record(
        actor=by,
        action="host.approve_host_key",
        target=host,
        before=before,
        after={"host_key": host.host_key_fingerprint, "type": host.host_key_type},
    )
    return host


@transaction.atomic
def reject_host_key(host: Host, *, by) -> Host:
    """Forget the offered key; the host stays refused until it offers the pinned one."""
    host = Host.objects.select_for_update().get(pk=host.pk)
    if not host.offered_key_base64:
        raise HostKeyDecisionError(f"{host.name} has no host key waiting for approval")
    rejected = fingerprint(host.offered_key_base64)
    host.offered_key_type, host.offered_key_base64, host.offered_key_seen_at = "", "", None
    host.save()
    record(actor=by, action="host.reject_host_key", target=host, before={"offered": rejected})
    return host
