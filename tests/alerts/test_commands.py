"""`manage.py alerts` and `manage.py seed_oncall_demo`."""

import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts import routing, services
from alerts.choices import AlertState
from alerts.models import Alert, EscalationPolicy, NotificationChannel, OnCallSchedule
from nyiops.roles import NOC, ONCALL, ensure_role_groups
from tests.alerts.factories import FindingFactory
from tests.factories import HostFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("alerts", *args, stdout=out)
    return out.getvalue()


def test_list_json_prints_open_alerts(clock, oncall):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k", subject="stor1", message="gm0 DEGRADED")
    services.sync_alerts([f"host:{host.pk}"])

    rows = json.loads(run("list", "--json"))

    assert [(r["subject"], r["state"], r["message"]) for r in rows] == [
        ("stor1", "firing", "gm0 DEGRADED")
    ]


def test_ack_command_acknowledges_with_note(clock, oncall, oncall_user):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k")
    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get()

    out = run("ack", str(alert.pk), "--user", "oscar-oncall", "--note", "swapping disk")

    alert.refresh_from_db()
    assert "acknowledged by oscar-oncall" in out
    assert alert.state == AlertState.ACKNOWLEDGED and alert.ack_note == "swapping disk"
    with pytest.raises(CommandError, match="not firing"):
        run("ack", str(alert.pk), "--user", "oscar-oncall")


def test_ack_command_refuses_customer_users(clock, oncall, customer_a_user):
    with pytest.raises(CommandError, match="no active NOC/on-call user"):
        run("ack", "1", "--user", customer_a_user.username)


def test_seed_oncall_demo_is_idempotent_and_puts_oncall_first(settings):
    ensure_role_groups()
    oncall = UserFactory(username="oncall")
    noc = UserFactory(username="noc")
    oncall.groups.add(Group.objects.get(name=ONCALL))
    noc.groups.add(Group.objects.get(name=NOC))

    call_command("seed_oncall_demo", stdout=io.StringIO())
    call_command("seed_oncall_demo", stdout=io.StringIO())

    schedule = OnCallSchedule.objects.get()
    now = timezone.now()
    assert routing.on_call_user_id(schedule, now, 0) == oncall.pk
    assert routing.on_call_user_id(schedule, now, 1) == noc.pk
    policy = EscalationPolicy.objects.get(is_default=True)
    assert [(s.delay_minutes, s.target_type, s.level) for s in policy.steps.all()] == [
        (0, "oncall", 0),
        (5, "oncall", 1),
        (10, "group", 0),
    ]
    assert NotificationChannel.objects.filter(kind="email").count() == 2
