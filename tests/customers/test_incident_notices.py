"""Customers hear once when an incident opens on their services and once when it ends."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alerts.models import Alert
from customers.models import IncidentNotice
from portal import incidents
from tests.factories import HostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(customer_a):
    customer_a.contacts = [{"name": "Ann", "email": "ops@a.example"}]
    customer_a.save()
    host = HostFactory(name="a-web", customer=customer_a)
    at = timezone.now() - timedelta(minutes=5)
    return Alert.objects.create(
        dedup_key="host:a-web",
        scope="host",
        kind="unreachable",
        severity="critical",
        subject="a-web",
        message="unreachable",
        host=host,
        opened_at=at,
        last_seen_at=at,
    )


def test_an_incident_is_told_once_when_it_opens_and_once_when_it_ends(
    alert, customer_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        assert incidents.send_due() == (1, 0)
        assert incidents.send_due() == (0, 0)
    assert len(queued) == 1

    sent = incidents.deliver(customer_a.pk, alert.pk, True)
    assert sent == 1 and mail.outbox[0].subject == "Incident on your service: host a-web"
    assert "unreachable" not in mail.outbox[0].body  # the NOC's words stay in the NOC

    alert.resolved_at = timezone.now()
    alert.save()
    with django_capture_on_commit_callbacks() as queued:
        assert incidents.send_due() == (0, 1)
        assert incidents.send_due() == (0, 0)
    assert len(queued) == 1
    assert IncidentNotice.objects.get().resolved_sent_at is not None


def test_a_short_flap_or_a_suppressed_alert_is_not_told(alert):
    assert incidents.send_due(now=alert.opened_at + timedelta(seconds=30)) == (0, 0)
    alert.suppressed = True
    alert.save()
    assert incidents.send_due() == (0, 0)
    assert not IncidentNotice.objects.exists()
