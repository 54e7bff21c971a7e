"""Failover -> alert -> page -> acknowledge, and escalation when nobody does."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from alerts import paging, services, sweeps
from alerts.choices import AlertState, EventKind, NotificationStatus
from alerts.models import Alert, Heartbeat, Notification
from hosts.models import Finding
from nyiops.roles import NOC
from tests.alerts.conftest import deliver_pending, run_due
from tests.alerts.factories import FindingFactory, failover_finding
from tests.factories import HostFactory, UserFactory

pytestmark = pytest.mark.django_db


def pages(**filters):
    return list(
        Notification.objects.filter(status=NotificationStatus.SENT, **filters)
        .order_by("sent_at", "pk")
        .values_list("step", "recipient__username")
    )


def test_failover_pages_the_oncall_engineer_within_the_same_tick(clock, pair, oncall, sent_tasks):
    cluster, *_ = pair
    failover_finding(cluster)

    services.sync_alerts([f"cluster:{cluster.pk}"])
    alert = Alert.objects.get()
    run_due(timezone.now())

    assert pages() == [(0, "oscar-oncall")]
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].to == ["oscar-oncall@example.test"]
    assert "fw-pair-1: fw1b became MASTER for vhid 1, 2 (was fw1a) at 12:03:04" in body
    assert "Unexpected" in body and "/alerts/ack/" in body
    assert any(ev.kind == EventKind.NOTIFIED for ev in alert.events.all())


def test_opening_an_alert_enqueues_its_first_step_without_waiting_for_beat(
    clock, pair, oncall, sent_tasks, django_capture_on_commit_callbacks
):
    cluster, *_ = pair
    failover_finding(cluster)

    with django_capture_on_commit_callbacks(execute=True):
        services.sync_alerts([f"cluster:{cluster.pk}"])

    alert = Alert.objects.get()
    assert sent_tasks == [("alerts.tasks.escalate_alert", [alert.pk, alert.escalation_token], 0)]


def test_ack_stops_escalation(clock, pair, oncall, oncall_user):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())
    alert = Alert.objects.get()

    services.acknowledge_alert(alert, by=oncall_user, note="looking", eta_minutes=20)
    for _ in range(4):
        clock.shift(dt.timedelta(minutes=10))
        run_due(timezone.now())

    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.next_step_at is None
    assert pages() == [(0, "oscar-oncall")]
    ack = alert.events.get(kind=EventKind.ACKNOWLEDGED)
    assert ack.actor == oncall_user and "looking" in ack.text and "ETA 12:23" in ack.text


def test_unacknowledged_alert_escalates_through_the_steps_in_order(clock, pair, oncall):
    cluster, *_ = pair
    other_noc = UserFactory(username="nick-noc")
    other_noc.groups.add(Group.objects.get(name=NOC))
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])

    run_due(timezone.now())
    clock.shift(dt.timedelta(minutes=4, seconds=59))
    run_due(timezone.now())
    assert pages() == [(0, "oscar-oncall")]
    clock.shift(dt.timedelta(seconds=1))
    run_due(timezone.now())
    assert pages() == [(0, "oscar-oncall"), (1, "nora-noc")]
    clock.shift(dt.timedelta(minutes=10))
    run_due(timezone.now())

    # The team step pages every NOC member with a channel (nick has none: logged, skipped).
    assert pages() == [(0, "oscar-oncall"), (1, "nora-noc"), (2, "nora-noc")]
    alert = Alert.objects.get()
    assert alert.next_step_at is None  # repeat=0: the policy is exhausted
    steps = [e.text for e in alert.events.filter(kind=EventKind.ESCALATED)]
    assert [s.split(":")[0] for s in steps] == ["step 1 of 3", "step 2 of 3", "step 3 of 3"]


def test_policy_repeats_after_the_last_step(clock, pair, oncall):
    cluster, policy = pair[0], oncall[1]
    policy.repeat, policy.repeat_after_minutes = 1, 15
    policy.save()
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])

    for _ in range(6):
        run_due(timezone.now())
        clock.shift(dt.timedelta(minutes=15))

    assert [step for step, _user in pages()] == [0, 1, 2, 3, 4, 5]


def test_worsening_unacknowledges_and_pages_again(clock, pair, oncall, oncall_user):
    cluster, *_ = pair
    failover_finding(cluster, vhids=(1,))
    services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())
    alert = Alert.objects.get()
    services.acknowledge_alert(alert, by=oncall_user)
    clock.shift(dt.timedelta(minutes=2))

    Finding.objects.all().delete()
    failover_finding(cluster, vhids=(1, 2))
    result = services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())

    alert.refresh_from_db()
    assert result.worsened == [alert.pk]
    assert alert.state == AlertState.FIRING and alert.acknowledged_by is None
    assert pages() == [(0, "oscar-oncall"), (0, "oscar-oncall")]
    assert alert.events.filter(kind=EventKind.UNACKNOWLEDGED).count() == 1
    assert "affected 1 -> 2" in alert.events.get(kind=EventKind.WORSENED).text


def test_rising_severity_unacknowledges(clock, oncall, oncall_user):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k", severity="warning")
    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get()
    services.acknowledge_alert(alert, by=oncall_user)

    Finding.objects.update(severity="critical")
    services.sync_alerts([f"host:{host.pk}"])

    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING and alert.severity == "critical"


def test_same_magnitude_does_not_unacknowledge(clock, oncall, oncall_user):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k", details={"disks": ["ada1"]})
    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get()
    services.acknowledge_alert(alert, by=oncall_user)

    Finding.objects.update(details={"disks": ["ada2"]})
    services.sync_alerts([f"host:{host.pk}"])

    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED


def test_duplicate_step_and_send_deliveries_send_once(clock, pair, oncall):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    alert = Alert.objects.get()
    token = alert.escalation_token

    first = paging.run_escalation_step(alert.pk, token, now=timezone.now())
    second = paging.run_escalation_step(alert.pk, token, now=timezone.now())
    notification = Notification.objects.get()
    sent = paging.deliver_notification(notification.pk, now=timezone.now())
    again = paging.deliver_notification(notification.pk, now=timezone.now())

    assert first.startswith("step 1 of 3") and second.startswith("stale token")
    assert sent.startswith("sent") and again.startswith("not due")
    assert len(mail.outbox) == 1


def test_notification_for_an_alert_acknowledged_meanwhile_is_cancelled(
    clock, pair, oncall, oncall_user
):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    sweeps.escalate_due(timezone.now())
    alert = Alert.objects.get()
    notification = Notification.objects.get()

    services.acknowledge_alert(alert, by=oncall_user)
    deliver_pending(timezone.now())

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.CANCELLED and mail.outbox == []


def test_auditor_rearms_an_overdue_escalation_exactly_once(clock, pair, oncall, sent_tasks):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    alert = Alert.objects.get()
    sent_tasks.clear()
    # The escalation message vanished and no sweeper ran for six minutes.
    clock.shift(dt.timedelta(minutes=6))

    first = sweeps.audit_escalations(timezone.now())
    assert first["rearmed"] == [alert.pk] and not first["clean"]
    assert not Heartbeat.objects.exists()
    second = sweeps.audit_escalations(timezone.now())

    assert second["rearmed"] == []
    assert alert.events.filter(kind=EventKind.REARMED).count() == 1
    run_due(timezone.now())
    run_due(timezone.now())
    assert pages() == [(0, "oscar-oncall")]
    clean = sweeps.audit_escalations(timezone.now())
    assert clean["clean"] and Heartbeat.objects.get().at == timezone.now()


def test_auditor_gives_up_after_bounded_rearms(clock, pair, oncall):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    Alert.objects.update(escalation_rearms=sweeps.MAX_REARMS)
    clock.shift(dt.timedelta(minutes=6))

    result = sweeps.audit_escalations(timezone.now())

    assert result["gave_up"] == [Alert.objects.get().pk] and result["rearmed"] == []
    assert not Heartbeat.objects.exists()


def test_rate_cap_bounds_pages_per_policy(clock, oncall):
    oncall[1].max_pages_per_hour = 3
    oncall[1].save()
    for i in range(6):
        host = HostFactory()
        FindingFactory(host=host, dedup_key=f"k{i}")
        services.sync_alerts([f"host:{host.pk}"])

    run_due(timezone.now())

    assert len(pages()) == 3
    capped = Alert.objects.filter(events__text__contains="rate cap").count()
    assert capped == 3


def test_sync_all_sweeper_catches_a_lost_sync_call(clock, oncall):
    host = HostFactory()
    FindingFactory(host=host)  # the poller's after-commit call never happened

    sweeps.sync_all(timezone.now())

    assert Alert.objects.filter(state=AlertState.FIRING).count() == 1
