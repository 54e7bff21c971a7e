"""Incident notices: a customer is e-mailed once when an incident opens on its services and
once when it is resolved.

An incident is an open root alert that pages (not suppressed by maintenance, not expected
from an operation) and has lasted NOTICE_DELAY, so a flap the NOC never sees does not reach
customers either. Who is touched comes from the topology (portal.impact). The words are
the customer's (service names, no NOC text). A beat task calls `send_due`; the
IncidentNotice row, created in the same transaction as the queueing, makes each notice go
once however often it runs.
"""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Customer, IncidentNotice
from nyiops.celery import app as celery_app
from portal import notices
from portal.impact import impact_of

NOTICE_DELAY = timedelta(minutes=2)
BATCH = 200


def _alerts():
    return apps.get_model("alerts", "Alert")


def send_due(now=None) -> tuple[int, int]:
    """(opened notices sent, resolved notices sent)."""
    if not apps.is_installed("alerts"):
        return 0, 0
    now = now or timezone.now()
    Alert = _alerts()
    opened = resolved = 0
    candidates = (
        Alert.objects.open()
        .roots()
        .filter(suppressed=False, expected=False, opened_at__lte=now - NOTICE_DELAY)
        .order_by("opened_at")
        .values_list("pk", "host_id", "cluster_id", "customer_id")[:BATCH]
    )
    for alert_id, host_id, cluster_id, customer_id in candidates:
        told = set(
            IncidentNotice.objects.filter(alert_id=alert_id).values_list("customer_id", flat=True)
        )
        for impact in impact_of(
            host_ids=[host_id], cluster_ids=[cluster_id], customer_ids=[customer_id]
        ):
            if impact.customer_id in told:
                continue
            try:
                with transaction.atomic():
                    IncidentNotice.objects.create(
                        alert_id=alert_id,
                        customer_id=impact.customer_id,
                        services=list(impact.services),
                        opened_sent_at=now,
                    )
                    _queue(impact.customer_id, alert_id, opened=True)
            except IntegrityError:
                continue  # another sweep got there first
            opened += 1
    open_ids = set(Alert.objects.open().values_list("pk", flat=True))
    for notice in IncidentNotice.objects.filter(resolved_sent_at__isnull=True)[:BATCH]:
        if notice.alert_id in open_ids:
            continue
        with transaction.atomic():
            done = IncidentNotice.objects.filter(
                pk=notice.pk, resolved_sent_at__isnull=True
            ).update(resolved_sent_at=now)
            if done:
                _queue(notice.customer_id, notice.alert_id, opened=False)
                resolved += done
    return opened, resolved


def _queue(customer_id: int, alert_id: int, *, opened: bool) -> None:
    # By name: portal.tasks imports this module.
    transaction.on_commit(
        lambda: celery_app.send_task(
            "portal.tasks.send_incident_notice", args=[customer_id, alert_id, opened]
        )
    )


def deliver(customer_id: int, alert_id: int, opened: bool) -> int:
    customer = Customer.objects.filter(pk=customer_id).first()
    notice = IncidentNotice.objects.filter(customer_id=customer_id, alert_id=alert_id).first()
    if customer is None or notice is None:
        return 0
    services = notice.services
    title = services[0] if services else "your service"
    return notices.deliver_incident_notice(customer, opened=opened, title=title, services=services)
