"""Outgoing event webhooks: subscribed channels get status events, alert timeline lines,
findings and operation records, HMAC-signed with a timestamp, retried with backoff and
logged, through the alert channel machinery (outbox + delivery log)."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from alerts import events, paging
from alerts.choices import NotificationStatus
from alerts.models import AlertEvent, DeliveryAttempt, Notification, NotificationChannel
from audit.services import record
from hosts.models import StatusEvent
from tests.alerts.test_webhook import Receiver

pytestmark = pytest.mark.django_db

SECRET = "webhook-secret-0123456789"


def subscribe(noc_api, url, types):
    response = noc_api.post(
        "/api/webhooks/",
        {"name": "siem", "url": url, "secret": SECRET, "event_types": types},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def new_status_event(host, new="MASTER"):
    return StatusEvent.objects.create(
        host=host,
        at=timezone.now(),
        subject_type="carp",
        subject="vhid 1@em0",
        field="state",
        old="BACKUP",
        new=new,
    )


def deliver_all(now=None):
    now = now or timezone.now()
    pending = Notification.objects.filter(status=NotificationStatus.PENDING, alert__isnull=True)
    return [paging.deliver_notification(pk, now=now) for pk in pending.values_list("pk", flat=True)]


def test_subscription_is_created_without_echoing_its_secret(noc_api, fleet):
    body = subscribe(noc_api, "http://127.0.0.1:9/hook", ["status_event"])

    assert "secret" not in body and body["event_types"] == ["status_event"]
    assert NotificationChannel.objects.get(pk=body["id"]).secret == SECRET


def test_bad_subscription_is_refused_by_field(noc_api, db):
    response = noc_api.post(
        "/api/webhooks/",
        {"name": "x", "url": "not a url", "event_types": ["weather"], "secret": "short"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"url", "event_types", "secret"}
    assert not NotificationChannel.objects.exists()


def test_status_event_is_delivered_signed_with_a_timestamp(noc_api, fleet):
    host = fleet["a"]["hosts"][0]
    with Receiver([200]) as hook:
        subscribe(noc_api, hook.url, ["status_event"])
        events.publish_events(now=timezone.now())  # starts the cursor: history is not replayed
        event = new_status_event(host)

        assert events.publish_events(now=timezone.now()) == {"status_event": 1}
        results = deliver_all()

    assert results == ["sent to siem via webhook"]
    ((headers, body),) = hook.requests
    ts = headers["X-Nyiops-Timestamp"]
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Nyiops-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "status_event"
    assert payload["data"]["id"] == event.pk and payload["data"]["new"] == "MASTER"
    assert payload["data"]["customer"] == "customer-a"
    assert headers["X-Nyiops-Delivery"] == payload["delivery"]


def test_failed_delivery_is_retried_with_backoff_and_logged(noc_api, fleet):
    host = fleet["a"]["hosts"][0]
    with Receiver([503, 200]) as hook:
        subscribe(noc_api, hook.url, ["status_event"])
        events.publish_events(now=timezone.now())
        new_status_event(host)
        events.publish_events(now=timezone.now())
        now = timezone.now()

        first = deliver_all(now)
        n = Notification.objects.get(alert__isnull=True)
        early = paging.deliver_notification(n.pk, now=now + dt.timedelta(seconds=1))
        second = paging.deliver_notification(n.pk, now=now + dt.timedelta(seconds=3))

    log_page = noc_api.get(f"/api/webhooks/{n.channel_id}/deliveries/").json()["results"]
    assert [a["status_code"] for a in log_page[0]["attempts_log"]] == [503, 200]
    assert log_page[0]["status"] == "sent"
    assert "retry in 2 s" in first[0]
    assert early.startswith("not due")
    assert second == "sent to siem via webhook"
    log = list(DeliveryAttempt.objects.filter(notification=n).values_list("ok", "status_code"))
    assert log == [(False, 503), (True, 200)]
    assert len(hook.requests) == 2
    assert hook.requests[0][0]["X-Nyiops-Delivery"] == hook.requests[1][0]["X-Nyiops-Delivery"]


def test_publishing_twice_queues_each_event_once(noc_api, fleet):
    subscribe(noc_api, "http://127.0.0.1:9/hook", ["status_event"])
    events.publish_events(now=timezone.now())
    new_status_event(fleet["a"]["hosts"][0])

    events.publish_events(now=timezone.now())
    events.publish_events(now=timezone.now())

    assert Notification.objects.filter(event_type="status_event").count() == 1


def test_only_subscribed_types_are_sent(noc_api, fleet, noc_user):
    subscribe(noc_api, "http://127.0.0.1:9/hook", ["operation"])
    events.publish_events(now=timezone.now())
    new_status_event(fleet["a"]["hosts"][0])
    record(actor=noc_user, action="operations.carp_demote", message="demote fw-a1")
    record(actor=noc_user, action="inventory.import", message="not an operation")

    events.publish_events(now=timezone.now())

    sent = Notification.objects.filter(alert__isnull=True)
    assert list(sent.values_list("event_type", flat=True)) == ["operation"]
    assert sent.get().payload["data"]["action"] == "operations.carp_demote"


def test_alert_events_are_published_and_delivering_them_writes_no_timeline(
    noc_api, fleet, oncall_api
):
    subscribe(noc_api, "http://127.0.0.1:9/hook", ["alert"])
    events.publish_events(now=timezone.now())
    alert = fleet["a"]["alert"]
    oncall_api.post(f"/api/alerts/{alert.pk}/ack/", {"note": "mine"}, format="json")
    lines = AlertEvent.objects.count()

    events.publish_events(now=timezone.now())
    deliver_all()  # the URL refuses connections: a failed attempt, retried later

    notification = Notification.objects.get(event_type="alert")
    assert notification.payload["data"]["kind"] == "acknowledged"
    assert notification.payload["data"]["alert"]["id"] == alert.pk
    assert AlertEvent.objects.count() == lines  # no loop: event deliveries log no timeline
    events.publish_events(now=timezone.now())
    assert Notification.objects.filter(event_type="alert").count() == 1


def test_new_findings_are_published_by_the_beat_task(noc_api, fleet):
    from alerts.tasks import publish_events
    from hosts.models import Finding

    subscribe(noc_api, "http://127.0.0.1:9/hook", ["finding"])
    publish_events()
    host = fleet["b"]["hosts"][1]
    now = timezone.now()
    finding = Finding.objects.create(
        dedup_key="pool_degraded:x",
        scope=f"host:{host.pk}",
        kind="pool_degraded",
        severity="critical",
        host=host,
        subject=host.name,
        message="tank DEGRADED",
        first_seen_at=now,
        last_seen_at=now,
    )

    assert publish_events() == "{'finding': 1}"
    data = Notification.objects.get(event_type="finding").payload["data"]
    assert (data["id"], data["kind"], data["severity"]) == (finding.pk, "pool_degraded", "critical")
