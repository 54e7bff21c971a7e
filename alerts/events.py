"""Outgoing event webhooks: publish what happens in nyiops to subscribed webhook channels.

Sources are append-only tables read by a cursor (`EventCursor`): status events (every
observed state change), alert timeline lines, new findings, and operation audit records.
Publishing turns each new row into one outbox `Notification` per subscribed channel; the
alert channel machinery delivers them (HMAC-signed with a timestamp, retries with backoff,
the delivery log). Reading committed rows by cursor means the poller and the other apps need
no hook, and a publisher that dies loses nothing: the next run starts from the cursor.

This module must not send anything itself, and must not page: event notifications never
touch an alert's escalation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from alerts import dispatch
from alerts.choices import EVENT_TYPES, ChannelKind
from alerts.models import AlertEvent, EventCursor, Notification, NotificationChannel
from audit.models import AuditRecord
from hosts.models import Finding, StatusEvent

log = logging.getLogger(__name__)

BATCH = 500


def _iso(value):
    return value.isoformat() if value is not None else None


def _status_event(e: StatusEvent) -> dict:
    return {
        "id": e.pk,
        "at": _iso(e.at),
        "host": e.host.name,
        "host_id": e.host_id,
        "customer": e.host.customer.slug if e.host.customer_id else None,
        "subject_type": e.subject_type,
        "subject": e.subject,
        "field": e.field,
        "old": e.old,
        "new": e.new,
    }


def _alert_event(e: AlertEvent) -> dict:
    a = e.alert
    return {
        "id": e.pk,
        "at": _iso(e.at),
        "kind": e.kind,
        "text": e.text,
        "actor": e.actor.get_username() if e.actor_id else None,
        "alert": {
            "id": a.pk,
            "kind": a.kind,
            "severity": a.severity,
            "state": a.state,
            "subject": a.subject,
            "message": a.message,
            "customer": a.customer.slug if a.customer_id else None,
        },
    }


def _finding(f: Finding) -> dict:
    return {
        "id": f.pk,
        "at": _iso(f.first_seen_at),
        "dedup_key": f.dedup_key,
        "kind": f.kind,
        "severity": f.severity,
        "subject": f.subject,
        "message": f.message,
        "host_id": f.host_id,
        "cluster_id": f.cluster_id,
    }


def _operation(r: AuditRecord) -> dict:
    return {
        "id": r.pk,
        "at": _iso(r.at),
        "actor": r.actor_name,
        "action": r.action,
        "target": {"type": r.target_type, "id": r.target_id, "label": r.target_label},
        "before": r.before,
        "after": r.after,
        "message": r.message,
    }


@dataclass(frozen=True)
class Source:
    queryset: object
    payload: object


def sources() -> dict[str, Source]:
    return {
        "status_event": Source(
            StatusEvent.objects.select_related("host__customer").order_by("pk"), _status_event
        ),
        "alert": Source(
            AlertEvent.objects.select_related("alert__customer", "actor").order_by("pk"),
            _alert_event,
        ),
        "finding": Source(Finding.objects.order_by("pk"), _finding),
        "operation": Source(
            AuditRecord.objects.filter(action__startswith="operation").order_by("pk"), _operation
        ),
    }


def subscribers() -> dict[str, list[NotificationChannel]]:
    out: dict[str, list[NotificationChannel]] = {t: [] for t in EVENT_TYPES}
    for channel in NotificationChannel.objects.filter(enabled=True, kind=ChannelKind.WEBHOOK):
        for event_type in channel.event_types or ():
            if event_type in out:
                out[event_type].append(channel)
    return out


def publish_events(*, now, batch: int = BATCH) -> dict[str, int]:
    """Queue every new row of every source for its subscribers; returns rows per source.

    A source nobody subscribes to just moves its cursor to the end: subscribing later
    starts from then, not from the beginning of history."""
    published = {}
    subs = subscribers()
    for event_type, source in sources().items():
        with transaction.atomic():
            newest = source.queryset.aggregate(m=Max("pk"))["m"] or 0
            cursor, _ = EventCursor.objects.select_for_update().get_or_create(
                source=event_type, defaults={"last_id": newest}
            )
            channels = subs[event_type]
            if not channels:
                if cursor.last_id != newest:
                    EventCursor.objects.filter(pk=cursor.pk).update(last_id=newest)
                continue
            rows = list(source.queryset.filter(pk__gt=cursor.last_id)[:batch])
            if not rows:
                continue
            outbox = [
                Notification(
                    alert=None,
                    event_type=event_type,
                    event_key=f"{event_type}:{row.pk}",
                    payload={"event": event_type, "data": source.payload(row)},
                    generation=0,
                    step=0,
                    channel=channel,
                    created_at=now,
                    next_attempt_at=now,
                )
                for row in rows
                for channel in channels
            ]
            Notification.objects.bulk_create(outbox, ignore_conflicts=True)
            EventCursor.objects.filter(pk=cursor.pk).update(last_id=rows[-1].pk)
            keys = [n.event_key for n in outbox]
            for pk in Notification.objects.filter(
                event_key__in=keys, sent_at__isnull=True
            ).values_list("pk", flat=True):
                dispatch.send_soon(pk)
            published[event_type] = len(rows)
    return published
