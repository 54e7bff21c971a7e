"""What on-call expects around a page: a short hold before the first one, the all-clear to
whoever was paged, and a re-page when an acknowledgement's ETA passes."""

import datetime as dt
import importlib

import pytest
from django.core import mail
from django.utils import timezone

from alerts import messages, services, sweeps
from alerts.choices import AlertState, EventKind, NotificationPurpose, NotificationStatus
from alerts.models import Alert, Notification
from hosts.models import Finding
from tests.alerts.conftest import deliver_pending, run_due
from tests.alerts.factories import FindingFactory, failover_finding

pytestmark = pytest.mark.django_db

DEFAULTS = importlib.import_module("nyiops.settings")  # the values a deployment starts with


def sent(purpose=NotificationPurpose.PAGE):
    return list(
        Notification.objects.filter(status=NotificationStatus.SENT, purpose=purpose)
        .order_by("sent_at", "pk")
        .values_list("recipient__username", flat=True)
    )


@pytest.fixture
def default_holds(settings):
    settings.NYIOPS_ALERT_HOLD_SECONDS = DEFAULTS.NYIOPS_ALERT_HOLD_SECONDS
    settings.NYIOPS_ALERT_HOLD_BY_KIND = DEFAULTS.NYIOPS_ALERT_HOLD_BY_KIND


def tick(clock, **delta):
    clock.shift(dt.timedelta(**delta))
    return run_due(timezone.now())


def no_master(cluster):
    return FindingFactory(
        cluster=cluster,
        kind="no_master",
        severity="critical",
        subject=cluster.name,
        dedup_key=f"no_master:cluster:{cluster.name}",
        message="no MASTER for vhid 1, 2 (fw1b state unknown)",
        details={"vhids": [1, 2]},
    )


# --- hold before the first page ---------------------------------------------------------


def test_default_hold_is_a_few_seconds_and_no_master_is_held_longer():
    assert 1 <= DEFAULTS.NYIOPS_ALERT_HOLD_SECONDS <= 5
    assert DEFAULTS.NYIOPS_ALERT_HOLD_BY_KIND["no_master"] >= 30


def test_new_alert_pages_only_once_its_hold_has_passed(clock, pair, oncall, settings):
    settings.NYIOPS_ALERT_HOLD_SECONDS = 3
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])

    run_due(timezone.now())
    tick(clock, seconds=2.9)
    assert sent() == []
    tick(clock, seconds=0.1)

    assert sent() == ["oscar-oncall"]
    held = Alert.objects.get().events.get(kind=EventKind.HELD)
    assert "holding the first page 3 s" in held.text


def test_held_first_step_is_sent_as_a_short_countdown_not_left_to_the_sweeper(
    clock, pair, oncall, settings, sent_tasks, django_capture_on_commit_callbacks
):
    settings.NYIOPS_ALERT_HOLD_SECONDS = 3
    cluster, *_ = pair
    failover_finding(cluster)

    with django_capture_on_commit_callbacks(execute=True):
        services.sync_alerts([f"cluster:{cluster.pk}"])

    alert = Alert.objects.get()
    ((name, args, countdown),) = sent_tasks
    assert (name, args) == ("alerts.tasks.escalate_alert", [alert.pk, alert.escalation_token])
    assert 3 < countdown < 3.5
    assert alert.next_step_at == timezone.now() + dt.timedelta(seconds=3)


def test_finding_that_clears_within_the_hold_pages_nobody(clock, pair, oncall, settings):
    settings.NYIOPS_ALERT_HOLD_SECONDS = 3
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    clock.shift(dt.timedelta(seconds=2))

    Finding.objects.all().delete()
    services.sync_alerts([f"cluster:{cluster.pk}"])
    tick(clock, seconds=5)

    assert Alert.objects.get().state == AlertState.RESOLVED
    assert Notification.objects.count() == 0 and mail.outbox == []


def test_no_master_while_the_fleet_starts_pages_nobody(clock, pair, oncall, default_holds):
    """Start-up: fw1a answered, fw1b is not polled yet, so the pair has no MASTER for a
    few poll rounds; once fw1b answers the finding clears and nobody was woken."""
    cluster, *_ = pair
    no_master(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    for _ in range(6):
        tick(clock, seconds=5)

    Finding.objects.all().delete()
    services.sync_alerts([f"cluster:{cluster.pk}"])
    tick(clock, minutes=5)

    assert Notification.objects.count() == 0 and mail.outbox == []


def test_no_master_that_lasts_past_its_hold_pages(clock, pair, oncall, default_holds):
    cluster, *_ = pair
    no_master(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    hold = DEFAULTS.NYIOPS_ALERT_HOLD_BY_KIND["no_master"]

    tick(clock, seconds=hold - 1)
    assert sent() == []
    tick(clock, seconds=1)

    assert sent() == ["oscar-oncall"]


def test_other_kinds_use_the_default_hold(clock, pair, oncall, default_holds):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])

    tick(clock, seconds=DEFAULTS.NYIOPS_ALERT_HOLD_SECONDS)

    assert sent() == ["oscar-oncall"]


def test_a_worse_alert_pages_again_without_a_new_hold(clock, pair, oncall, oncall_user, settings):
    settings.NYIOPS_ALERT_HOLD_SECONDS = 3
    cluster, *_ = pair
    failover_finding(cluster, vhids=(1,))
    services.sync_alerts([f"cluster:{cluster.pk}"])
    tick(clock, seconds=3)
    services.acknowledge_alert(Alert.objects.get(), by=oncall_user)

    Finding.objects.all().delete()
    failover_finding(cluster, vhids=(1, 2))
    services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())

    assert sent() == ["oscar-oncall", "oscar-oncall"]


# --- resolved notifications ---------------------------------------------------------------


def page_then_clear(clock, cluster, *, minutes_unacked=0):
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())
    if minutes_unacked:
        tick(clock, minutes=minutes_unacked)
    Finding.objects.all().delete()
    clock.shift(dt.timedelta(minutes=1))
    services.sync_alerts([f"cluster:{cluster.pk}"])
    return Alert.objects.get()


def test_auto_resolved_alert_tells_whoever_was_paged(clock, pair, oncall):
    cluster, *_ = pair
    alert = page_then_clear(clock, cluster)
    mail.outbox.clear()

    deliver_pending(timezone.now())

    assert sent(NotificationPurpose.RESOLVED) == ["oscar-oncall"]
    (message,) = mail.outbox
    assert message.to == ["oscar-oncall@example.test"]
    assert message.subject.startswith(f"[nyiops RESOLVED] #{alert.pk} fw-pair-1")
    assert "Resolved automatically at 2026-11-28 12:04:05 UTC" in message.body
    assert "/alerts/ack/" not in message.body  # nothing left to acknowledge
    assert "sent the resolution to oscar-oncall" in alert.events.last().text


def test_resolution_goes_to_every_step_that_was_paged_and_nobody_else(clock, pair, oncall):
    cluster, *_ = pair
    page_then_clear(clock, cluster, minutes_unacked=5)  # step 2 paged the secondary too

    deliver_pending(timezone.now())

    assert sorted(sent(NotificationPurpose.RESOLVED)) == ["nora-noc", "oscar-oncall"]


def test_alert_that_paged_nobody_sends_no_resolution(clock, pair, oncall, oncall_user):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    services.acknowledge_alert(Alert.objects.get(), by=oncall_user)  # before any page went
    deliver_pending(timezone.now())

    Finding.objects.all().delete()
    services.sync_alerts([f"cluster:{cluster.pk}"])

    assert not Notification.objects.filter(purpose=NotificationPurpose.RESOLVED).exists()


def test_resolving_by_hand_skips_the_resolver_and_is_not_cancelled(
    clock, pair, oncall, oncall_user, noc_user
):
    cluster, *_ = pair
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())
    tick(clock, minutes=5)
    alert = Alert.objects.get()

    services.resolve_alert(alert, by=oncall_user, note="replaced the cable")
    services.sync_alerts([f"cluster:{cluster.pk}"])  # the finding holds: a new alert opens
    deliver_pending(timezone.now())

    resolved = Notification.objects.get(alert=alert, purpose=NotificationPurpose.RESOLVED)
    assert resolved.recipient == noc_user and resolved.status == NotificationStatus.SENT
    (all_clear,) = [m for m in mail.outbox if m.subject.startswith("[nyiops RESOLVED]")]
    assert all_clear.to == [noc_user.email]
    assert "Resolved by oscar-oncall" in all_clear.body
    assert "Note: replaced the cable" in all_clear.body


def test_resolution_is_created_once_however_often_sync_runs(clock, pair, oncall):
    cluster, *_ = pair
    page_then_clear(clock, cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    sweeps.sync_all(timezone.now())

    assert Notification.objects.filter(purpose=NotificationPurpose.RESOLVED).count() == 1


def test_resolved_webhook_payload_says_resolved(clock, pair, oncall):
    cluster, *_ = pair
    alert = page_then_clear(clock, cluster)
    notification = Notification.objects.get(purpose=NotificationPurpose.RESOLVED)

    message = messages.build(notification)

    assert message.payload["event"] == "alert.resolved"
    assert message.payload["alert"]["id"] == alert.pk and message.payload["alert"]["state"] == (
        AlertState.RESOLVED
    )
    assert message.idempotency_key.endswith("-resolved")


# --- acknowledgement ETA ------------------------------------------------------------------


def paged_and_acked(cluster, user, *, eta_minutes):
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    run_due(timezone.now())
    alert = Alert.objects.get()
    services.acknowledge_alert(alert, by=user, eta_minutes=eta_minutes)
    return alert


def test_ack_whose_eta_passes_repages_the_acknowledger(clock, pair, oncall, noc_user):
    cluster, *_ = pair
    alert = paged_and_acked(cluster, noc_user, eta_minutes=20)  # nora acked oscar's page
    clock.shift(dt.timedelta(minutes=19, seconds=59))
    sweeps.repage_expired_acks(timezone.now())
    run_due(timezone.now())
    assert sent(NotificationPurpose.ACK_EXPIRED) == []

    clock.shift(dt.timedelta(seconds=1))
    repaged = sweeps.repage_expired_acks(timezone.now())
    run_due(timezone.now())

    alert.refresh_from_db()
    assert repaged == 1
    assert alert.state == AlertState.FIRING and alert.acknowledged_by is None
    assert sent(NotificationPurpose.ACK_EXPIRED) == ["nora-noc"]
    assert mail.outbox[-1].subject.startswith(f"[nyiops WARNING] #{alert.pk} ETA passed:")
    assert (
        "acknowledgement ETA 12:23 UTC passed" in alert.events.get(kind=EventKind.ACK_EXPIRED).text
    )


def test_after_an_expired_eta_escalation_restarts_unless_acknowledged_again(
    clock, pair, oncall, oncall_user, settings
):
    settings.NYIOPS_ACK_EXPIRED_ESCALATE_AFTER_MINUTES = 5
    cluster, *_ = pair
    paged_and_acked(cluster, oncall_user, eta_minutes=10)
    clock.shift(dt.timedelta(minutes=10))
    sweeps.repage_expired_acks(timezone.now())
    run_due(timezone.now())

    tick(clock, minutes=4, seconds=59)
    assert sent() == ["oscar-oncall"]  # only the original page so far
    tick(clock, seconds=1)

    assert sent() == ["oscar-oncall", "oscar-oncall"]  # step 1 again, new generation


def test_acknowledging_again_after_the_repage_stops_the_escalation(
    clock, pair, oncall, oncall_user
):
    cluster, *_ = pair
    alert = paged_and_acked(cluster, oncall_user, eta_minutes=10)
    clock.shift(dt.timedelta(minutes=10))
    sweeps.repage_expired_acks(timezone.now())
    run_due(timezone.now())

    services.acknowledge_alert(alert, by=oncall_user, eta_minutes=30)
    for _ in range(3):
        tick(clock, minutes=10)

    assert sent() == ["oscar-oncall"]
    assert sent(NotificationPurpose.ACK_EXPIRED) == ["oscar-oncall"]


def test_expired_ack_repages_once_however_many_sweepers_run(clock, pair, oncall, oncall_user):
    cluster, *_ = pair
    paged_and_acked(cluster, oncall_user, eta_minutes=10)
    clock.shift(dt.timedelta(minutes=11))

    first = sweeps.repage_expired_acks(timezone.now())
    second = sweeps.repage_expired_acks(timezone.now())
    run_due(timezone.now())

    assert (first, second) == (1, 0)
    assert Notification.objects.filter(purpose=NotificationPurpose.ACK_EXPIRED).count() == 1


def test_ack_without_eta_never_repages(clock, pair, oncall, oncall_user):
    cluster, *_ = pair
    alert = paged_and_acked(cluster, oncall_user, eta_minutes=None)
    clock.shift(dt.timedelta(days=2))

    assert sweeps.repage_expired_acks(timezone.now()) == 0
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED


def test_resolved_alert_is_not_repaged_when_its_eta_passes(clock, pair, oncall, oncall_user):
    cluster, *_ = pair
    paged_and_acked(cluster, oncall_user, eta_minutes=10)
    Finding.objects.all().delete()
    services.sync_alerts([f"cluster:{cluster.pk}"])
    clock.shift(dt.timedelta(minutes=11))

    assert sweeps.repage_expired_acks(timezone.now()) == 0
    assert not Notification.objects.filter(purpose=NotificationPurpose.ACK_EXPIRED).exists()


def test_alert_page_lists_the_resolution_apart_from_the_pages(
    clock, pair, oncall, client, noc_user
):
    cluster, *_ = pair
    alert = page_then_clear(clock, cluster)
    deliver_pending(timezone.now())
    client.force_login(noc_user)

    body = client.get(f"/alerts/{alert.pk}/").content.decode()

    assert "1 (page 1)" in body and "Resolved (to whoever was paged)" in body
