"""Alertmanager -> nyiops: a firing alert pages through the normal policy (routing,
escalation, ack) and its resolved twin resolves it; labels naming a known host join the
host's grouping; bad payloads are 4xx by field and change nothing."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from alerts.choices import AlertState, NotificationStatus
from alerts.models import Alert, Notification
from alerts.services import sync_alerts
from api.models import AlertmanagerReceiver
from hosts.models import Finding
from tests.alerts.conftest import run_due
from tests.alerts.factories import FindingFactory, oncall_setup

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def payload(status, *, fingerprint="a1b2c3d4e5f60708", **labels):
    labels = {"alertname": "NodeDiskFull", "severity": "critical", **labels}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="NodeDiskFull"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "nyiops",
        "groupLabels": {"alertname": "NodeDiskFull"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "/var is 97% full"},
                "startsAt": "2026-11-28T11:59:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            }
        ],
    }


@pytest.fixture
def receiver(db):
    return AlertmanagerReceiver.objects.create(name="prometheus")


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def past_the_hold(clock):
    """A new alert's first page waits out its hold (alerts: no page for a blip)."""
    clock.shift(dt.timedelta(seconds=settings.NYIOPS_ALERT_HOLD_SECONDS + 1))


def post(client, receiver, body):
    return client.post(f"/api/integrations/alertmanager/{receiver.pk}/", body, format="json")


def test_firing_pages_oncall_and_resolved_resolves(
    clock, receiver, fleet, noc_api, oncall_user, noc_user
):
    oncall_setup(oncall_user, noc_user, start=T0 - dt.timedelta(days=1))

    fired = post(noc_api, receiver, payload("firing", instance="fw-a1:9100"))
    past_the_hold(clock)
    run_due(timezone.now())

    assert fired.status_code == 202, fired.json()
    alert = Alert.objects.get(kind="alertmanager")
    assert (alert.severity, alert.host.name, alert.customer.slug) == (
        "critical",
        "fw-a1",
        "customer-a",
    )
    assert alert.subject == "NodeDiskFull fw-a1" and alert.message == "/var is 97% full"
    sent = Notification.objects.filter(alert=alert, status=NotificationStatus.SENT)
    assert list(sent.values_list("recipient__username", flat=True)) == ["oscar-oncall"]
    assert "/var is 97% full" in mail.outbox[0].body

    again = post(noc_api, receiver, payload("firing", instance="fw-a1:9100"))
    assert again.json()["alerts_opened"] == []  # same fingerprint: the same alert (dedup)

    clock.shift(dt.timedelta(minutes=3))
    resolved = post(noc_api, receiver, payload("resolved", instance="fw-a1:9100"))

    assert resolved.json()["alerts_resolved"] == [alert.pk]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert not Finding.objects.filter(kind="alertmanager").exists()


def test_acknowledged_alertmanager_alert_stops_escalating(
    clock, receiver, fleet, noc_api, oncall_api, oncall_user, noc_user
):
    oncall_setup(oncall_user, noc_user, start=T0 - dt.timedelta(days=1))
    post(noc_api, receiver, payload("firing"))
    past_the_hold(clock)
    run_due(timezone.now())
    alert = Alert.objects.get(kind="alertmanager")

    oncall_api.post(f"/api/alerts/{alert.pk}/ack/", {"note": "looking"}, format="json")
    clock.shift(dt.timedelta(minutes=30))
    run_due(timezone.now())

    assert Notification.objects.filter(alert=alert, status=NotificationStatus.SENT).count() == 1


def test_a_dead_host_explains_its_alertmanager_alert(clock, receiver, fleet, noc_api):
    host = fleet["a"]["hosts"][0]
    FindingFactory(
        host=host,
        kind="host_unreachable",
        severity="critical",
        dedup_key=f"host_unreachable:{host.pk}",
        subject=host.name,
        message="connection refused",
    )
    sync_alerts([f"host:{host.pk}"])

    post(noc_api, receiver, payload("firing", nyiops_host="fw-a1"))

    root = Alert.objects.get(kind="host_unreachable")
    assert Alert.objects.get(kind="alertmanager").parent_id == root.pk


def test_customer_label_routes_an_alert_without_a_host(clock, receiver, fleet, noc_api):
    post(noc_api, receiver, payload("firing", customer="customer-b", job="blackbox"))

    alert = Alert.objects.get(kind="alertmanager")
    assert alert.host is None and alert.customer.slug == "customer-b"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"alerts": "nope"}, "alerts"),
        ({"alerts": [{"status": "burning", "labels": {}}]}, "alerts"),
        ({"alerts": [{"status": "firing", "labels": ["x"]}]}, "alerts"),
        ({}, "alerts"),
    ],
)
def test_bad_payloads_are_4xx_by_field_and_store_nothing(receiver, noc_api, body, field):
    response = post(noc_api, receiver, body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Finding.objects.exists() and not Alert.objects.exists()


def test_only_staff_tokens_may_post(receiver, customer_a_api, fleet):
    assert post(customer_a_api, receiver, payload("firing")).status_code == 403
    assert not Alert.objects.filter(kind="alertmanager").exists()


def test_unknown_or_disabled_receiver_is_404(receiver, noc_api):
    receiver.enabled = False
    receiver.save()

    assert post(noc_api, receiver, payload("firing")).status_code == 404
    assert (
        noc_api.post(
            "/api/integrations/alertmanager/999/", payload("firing"), format="json"
        ).status_code
        == 404
    )


def test_a_host_less_external_finding_shows_on_the_noc_pages(receiver, noc_api, noc_user, client):
    post(noc_api, receiver, payload("firing", job="blackbox"))
    client.force_login(noc_user)

    overview = client.get("/hosts/")
    widget = client.get("/hosts/live/findings/", HTTP_HX_REQUEST="true")
    alerts = client.get("/alerts/")

    assert overview.status_code == widget.status_code == alerts.status_code == 200
    assert "/var is 97% full" in widget.content.decode()
