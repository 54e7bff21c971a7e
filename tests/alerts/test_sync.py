"""sync_alerts: findings become alerts with PagerDuty's semantics."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import messages, services
from alerts.choices import AlertState, EventKind
from alerts.models import Alert, MaintenanceWindow
from hosts.models import Finding, Host
from hosts.signals import findings_updated
from tests.alerts.factories import failover_finding
from tests.factories import FindingFactory, HostFactory

pytestmark = pytest.mark.django_db


def test_finding_opens_one_alert_per_dedup_key(clock):
    host = HostFactory(name="stor1")
    FindingFactory(host=host, dedup_key="mirror_degraded:host:stor1:gm0", subject="stor1")

    first = services.sync_alerts([f"host:{host.pk}"])
    second = services.sync_alerts([f"host:{host.pk}"])

    assert len(first.opened) == 1 and second.opened == []
    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING and alert.dedup_key.endswith("gm0")
    assert alert.events.filter(kind=EventKind.OPENED).count() == 1


def test_cleared_finding_resolves_its_alert_automatically_and_says_so(clock):
    host = HostFactory()
    FindingFactory(host=host)
    services.sync_alerts([f"host:{host.pk}"])

    Finding.objects.all().delete()
    result = services.sync_alerts([f"host:{host.pk}"])

    alert = Alert.objects.get()
    assert result.resolved == [alert.pk]
    assert alert.state == AlertState.RESOLVED and alert.resolved_at == timezone.now()
    assert alert.events.last().text == "resolved automatically: condition cleared"


def test_trigger_after_resolve_opens_a_new_alert(clock):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k1")
    services.sync_alerts([f"host:{host.pk}"])
    Finding.objects.all().delete()
    services.sync_alerts([f"host:{host.pk}"])

    FindingFactory(host=host, dedup_key="k1")
    services.sync_alerts([f"host:{host.pk}"])

    old, new = Alert.objects.order_by("pk")
    assert old.state == AlertState.RESOLVED
    assert new.state == AlertState.FIRING and new.pk != old.pk


def test_database_refuses_a_second_open_alert_for_the_same_key(clock):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k1")
    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            dedup_key="k1",
            scope=alert.scope,
            kind=alert.kind,
            severity="info",
            subject="x",
            message="x",
            opened_at=timezone.now(),
            last_seen_at=timezone.now(),
        )


def test_losing_the_open_race_reuses_the_winners_alert(clock):
    host = HostFactory()
    finding = FindingFactory(host=host, dedup_key="k1")
    winner, created = services._open_alert(finding, timezone.now(), windows_exist=False)

    again, created_again = services._open_alert(finding, timezone.now(), windows_exist=False)

    assert created and not created_again and again.pk == winner.pk
    assert Alert.objects.count() == 1


def test_updates_without_worsening_keep_the_alert_and_log_the_change(clock):
    host = HostFactory()
    finding = FindingFactory(host=host, message="pool 81% full", kind="pool_capacity")
    services.sync_alerts([f"host:{host.pk}"])
    Finding.objects.filter(pk=finding.pk).update(message="pool 82% full")

    result = services.sync_alerts([f"host:{host.pk}"])

    alert = Alert.objects.get()
    assert result.worsened == [] and alert.message == "pool 82% full"
    assert alert.events.filter(kind=EventKind.UPDATED).exists()


def test_failover_alert_says_exactly_what_happened_and_that_it_was_unexpected(clock, pair):
    cluster, _fw1a, _fw1b = pair
    failover_finding(cluster)

    services.sync_alerts([f"cluster:{cluster.pk}"])

    alert = Alert.objects.get()
    assert messages.headline(alert) == (
        "fw-pair-1: fw1b became MASTER for vhid 1, 2 (was fw1a) at 12:03:04; "
        "pfsync in sync, state tables 41,210 / 41,198"
    )
    assert not alert.expected
    assert messages.expectation(alert).startswith("Unexpected")


def test_failover_inside_a_maintenance_window_is_expected_and_suppressed(clock, pair, noc_user):
    cluster, fw1a, _fw1b = pair
    MaintenanceWindow.objects.create(
        host=fw1a,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timezone.timedelta(hours=1),
        reason="fw1a kernel upgrade",
        created_by=noc_user,
    )
    failover_finding(cluster)

    services.sync_alerts([f"cluster:{cluster.pk}"])

    alert = Alert.objects.get()
    assert alert.expected and alert.suppressed
    assert "fw1a kernel upgrade" in alert.expected_reason


def test_failover_caused_by_an_operation_is_expected(clock, pair):
    cluster, _fw1a, _fw1b = pair
    finding = failover_finding(cluster)
    finding.details["operation"] = "#42 demote fw1a"
    finding.save()

    services.sync_alerts([f"cluster:{cluster.pk}"])

    alert = Alert.objects.get()
    assert alert.expected and alert.expected_reason == "operation #42 demote fw1a"


def test_poller_signal_syncs_the_scopes_it_names(clock):
    host = HostFactory()
    FindingFactory(host=host)

    findings_updated.send(sender=Host, scopes=[f"host:{host.pk}"])

    assert Alert.objects.filter(state=AlertState.FIRING).count() == 1


def test_headline_does_not_repeat_a_subject_the_message_already_names(clock):
    host = HostFactory(name="stor1")
    FindingFactory(host=host, subject="stor1 gm0", message="stor1: gm0 DEGRADED")

    services.sync_alerts([f"host:{host.pk}"])

    assert messages.headline(Alert.objects.get()) == "stor1: gm0 DEGRADED"
