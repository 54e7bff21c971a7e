"""Locks with leases and fencing tokens: one active operation per cluster and per host.

Owns acquiring, renewing, checking and releasing OperationLock rows (RELIABILITY E1, E2).
Acquisition never waits: a busy scope raises `LockBusy` naming the holder and since when.
Order is fixed (the cluster lock first, then host locks sorted by id), so two operations on
one pair cannot each hold half of it. Every step write checks the token (`check`): a run
whose lease ran out and whose lock was taken over is `Fenced` and must stop.

Must not: talk SSH or decide operation states (the engine does)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from operations.models import FencingTicket, Operation, OperationLock


class LockBusy(Exception):
    def __init__(self, scope: str, holder: Operation | None, since):
        who = holder.requested_by_name if holder else "?"
        what = f"{holder.label} ({holder.kind}) by {who}" if holder else "another operation"
        noun = scope.split(":")[0]
        super().__init__(f"{noun} busy: {what} since {since:%Y-%m-%d %H:%M:%S} UTC")
        self.scope, self.holder = scope, holder


class Fenced(Exception):
    """This run no longer holds its locks: another acquisition superseded it."""


def lease() -> timedelta:
    return timedelta(seconds=settings.NYIOPS_OPERATION_LOCK_LEASE_SECONDS)


def scopes_for(op: Operation) -> list[str]:
    scopes = [f"cluster:{op.cluster_id}"] if op.cluster_id else []
    return scopes + [f"host:{pk}" for pk in sorted(set(op.affected_host_ids))]


def holder_of(scopes: list[str], now=None) -> OperationLock | None:
    """The live lock on any of these scopes, if one is held (for refusing plans early)."""
    now = now or timezone.now()
    return (
        OperationLock.objects.filter(scope__in=scopes, lease_until__gte=now)
        .select_related("operation")
        .order_by("acquired_at")
        .first()
    )


def _take(scope: str, op: Operation, token: int, now) -> bool:
    until = now + lease()
    # Expired, or already ours (a resumed run re-acquires with a new token).
    taken = (
        OperationLock.objects.filter(scope=scope)
        .filter(Q(lease_until__lt=now) | Q(operation=op))
        .update(operation=op, token=token, acquired_at=now, lease_until=until)
    )
    if taken:
        return True
    try:
        with transaction.atomic():
            OperationLock.objects.create(
                scope=scope, operation=op, token=token, acquired_at=now, lease_until=until
            )
        return True
    except IntegrityError:
        return False


def acquire(op: Operation, now=None) -> int:
    """Take every lock of `op` in the fixed order, or none; returns the new fencing token."""
    now = now or timezone.now()
    token = FencingTicket.objects.create().pk
    taken: list[str] = []
    for scope in scopes_for(op):
        if not _take(scope, op, token, now):
            OperationLock.objects.filter(scope__in=taken, token=token).delete()
            row = OperationLock.objects.select_related("operation").filter(scope=scope).first()
            raise LockBusy(scope, row.operation if row else None, row.acquired_at if row else now)
        taken.append(scope)
    Operation.objects.filter(pk=op.pk).update(fencing_token=token)
    op.fencing_token = token
    return token


def check(op: Operation, now=None) -> None:
    """Raise Fenced unless every lock of `op` still carries its token and a live lease."""
    now = now or timezone.now()
    scopes = scopes_for(op)
    held = OperationLock.objects.filter(
        scope__in=scopes, operation=op, token=op.fencing_token, lease_until__gte=now
    ).count()
    if held != len(scopes):
        raise Fenced(
            f"{op.label} lost its lock (token {op.fencing_token} is stale): another operation "
            "took over after the lease ran out"
        )


def renew(op: Operation, now=None) -> None:
    """Extend the lease of every lock of `op`; Fenced if any was taken over."""
    now = now or timezone.now()
    scopes = scopes_for(op)
    renewed = OperationLock.objects.filter(
        scope__in=scopes, operation=op, token=op.fencing_token, lease_until__gte=now
    ).update(lease_until=now + lease())
    if renewed != len(scopes):
        raise Fenced(f"{op.label} lost its lock (token {op.fencing_token} is stale)")


def release(op: Operation) -> int:
    """Drop the locks this run holds (by token: a superseded run frees nothing of others)."""
    deleted, _ = OperationLock.objects.filter(operation=op, token=op.fencing_token).delete()
    return deleted
