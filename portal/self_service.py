"""Self-service on a customer's own jails: start, stop, restart without NOC approval.

Each action is an operation on the engine (planned, locked per host, verified, audited),
requested and approved by the customer user; a per-customer rate limit keeps a script or an
impatient finger from flooding a host. Destroy and resize are not here: they go through the
NOC (a request). The jail must come from the caller's scope (the view does that); it is
re-checked here all the same.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.services import record
from customers.scoping import customer_of

VERBS = ("start", "stop", "restart")
RATE_LIMIT = 10  # actions per customer ...
RATE_WINDOW = timedelta(minutes=10)  # ... in this window


class NotAllowed(Exception):
    pass


def recent_actions(customer, now) -> int:
    from operations.models import Operation

    return Operation.objects.filter(
        kind__in=[f"jail-{v}" for v in VERBS],
        requested_by__membership__customer=customer,
        created_at__gte=now - RATE_WINDOW,
    ).count()


def jail_action(user, jail, verb: str):
    """Plan, approve and queue `verb` on `jail`; returns the operation."""
    from operations import services

    customer = customer_of(user)
    if verb not in VERBS:
        raise NotAllowed(f"“{verb}” is not something you can do to a jail here.")
    if customer is None or jail.host.customer_id != customer.pk:
        raise NotAllowed("Not your jail.")
    now = timezone.now()
    if recent_actions(customer, now) >= RATE_LIMIT:
        raise NotAllowed(
            f"At most {RATE_LIMIT} jail actions every {int(RATE_WINDOW.total_seconds() // 60)} "
            "minutes: try again in a few minutes."
        )
    try:
        op = services.request_operation(
            f"jail-{verb}", jail.host.name, {"name": jail.name}, by=user, reason="customer portal"
        )
        services.approve(op, by=user)
    except services.PlanRefused as exc:
        raise NotAllowed(f"Cannot {verb} {jail.name} right now: {exc}") from exc
    except (ValidationError, services.OperationError) as exc:
        raise NotAllowed(f"Cannot {verb} {jail.name} right now.") from exc
    record(
        actor=user,
        action=f"jail.{verb}",
        target=jail,
        after={"operation": op.pk, "customer": customer.slug},
        message=f"{customer.slug} asked to {verb} {jail.name} on {jail.host.name}",
    )
    return op


def request_destroy(user, jail, confirm: str):
    """Ask the NOC to destroy one of the customer's jails: a *planned* jail-destroy
    operation (final snapshot kept, see operations.actions.jails) that runs only once a NOC
    user approves it. The name must be typed to confirm."""
    from operations import services

    customer = customer_of(user)
    if customer is None or jail.host.customer_id != customer.pk:
        raise NotAllowed("Not your jail.")
    if confirm != jail.name:
        raise NotAllowed(f"Type the jail's name, {jail.name}, exactly to confirm.")
    try:
        op = services.request_operation(
            "jail-destroy",
            jail.host.name,
            {"name": jail.name, "confirm": confirm},
            by=user,
            reason="customer asked to destroy (NOC approval needed)",
        )
    except services.PlanRefused as exc:
        raise NotAllowed(f"Cannot destroy {jail.name} right now: {exc}") from exc
    except ValidationError as exc:
        raise NotAllowed(f"Cannot destroy {jail.name}: {exc}") from exc
    record(
        actor=user,
        action="jail.destroy_requested",
        target=jail,
        after={"operation": op.pk, "customer": customer.slug},
        message=f"{customer.slug} asked to destroy {jail.name} on {jail.host.name}",
    )
    return op


def request_resize(user, jail, size_gb: int):
    """Ask the NOC to resize one of the customer's jails: a *planned* jail-resize operation
    that runs only once a NOC user approves it."""
    from operations import services

    customer = customer_of(user)
    if customer is None or jail.host.customer_id != customer.pk:
        raise NotAllowed("Not your jail.")
    try:
        op = services.request_operation(
            "jail-resize",
            jail.host.name,
            {"name": jail.name, "size_gb": size_gb},
            by=user,
            reason="customer asked to resize (NOC approval needed)",
        )
    except services.PlanRefused as exc:
        raise NotAllowed(f"Cannot resize {jail.name}: {exc}") from exc
    except ValidationError as exc:
        raise NotAllowed(f"Cannot resize {jail.name}: {exc}") from exc
    record(
        actor=user,
        action="jail.resize_requested",
        target=jail,
        after={"operation": op.pk, "size_gb": size_gb, "customer": customer.slug},
        message=f"{customer.slug} asked to resize {jail.name} to {size_gb} GiB",
    )
    return op
