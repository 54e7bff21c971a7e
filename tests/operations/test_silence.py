"""Operation-scoped silence: what the plan predicts shows as expected and does not page, during
the operation and its grace period; anything it did not predict still pages."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from alerts import services as alert_services
from alerts import sweeps
from alerts.models import Alert, Notification
from operations import expectations
from operations.models import Operation
from tests.alerts.conftest import run_due
from tests.alerts.factories import FindingFactory, failover_finding
from tests.factories import ClusterFactory, ClusterMemberFactory, HostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_page_hold(settings):
    """Silence is the subject here, not the hold before a first page (tests/alerts has that):
    pages are due at once, as in the alerts tests."""
    settings.NYIOPS_ALERT_HOLD_SECONDS = 0
    settings.NYIOPS_ALERT_HOLD_BY_KIND = {}


@pytest.fixture
def maintenance(db):
    cluster = ClusterFactory(name="fw-pair-1", kind="firewall")
    fw1a = HostFactory(name="fw1a", roles=["firewall"])
    fw1b = HostFactory(name="fw1b", roles=["firewall"])
    ClusterMemberFactory(cluster=cluster, host=fw1a, role="primary")
    ClusterMemberFactory(cluster=cluster, host=fw1b, role="backup")
    op = Operation.objects.create(
        kind="carp-maintenance",
        target_label="fw-pair-1 (fw1a)",
        cluster=cluster,
        host=fw1a,
        affected_host_ids=[fw1a.pk, fw1b.pk],
        requested_by_name="nora-noc",
        state="running",
        predicted_findings=[
            "carp_demoted:host:fw1a",
            "preferred_master_is_backup:cluster:fw-pair-1",
        ],
    )
    expectations.expect(op)
    return op, cluster, fw1a


def scopes(cluster, host):
    return [f"cluster:{cluster.pk}", f"host:{host.pk}"]


def test_predicted_failover_is_expected_and_never_pages_during_the_operation(
    clock, oncall, maintenance
):
    op, cluster, fw1a = maintenance
    failover_finding(cluster)
    alert_services.sync_alerts(scopes(cluster, fw1a))
    for _ in range(3):
        run_due(timezone.now())
        sweeps.release_silenced(timezone.now())
        clock.shift(dt.timedelta(minutes=5))

    alert = Alert.objects.get()
    assert alert.expected and alert.suppressed
    assert alert.expected_reason == f"operation #{op.pk} (carp-maintenance on fw-pair-1 (fw1a))"
    assert Notification.objects.count() == 0 and mail.outbox == []


def test_unpredicted_finding_on_the_same_pair_still_pages(clock, oncall, maintenance):
    _op, cluster, fw1a = maintenance
    FindingFactory(
        cluster=cluster,
        kind="pfsync_down",
        severity="critical",
        subject=cluster.name,
        dedup_key="pfsync_down:cluster:fw-pair-1",
        message="fw-pair-1: pfsync not in sync on fw1b",
    )
    alert_services.sync_alerts(scopes(cluster, fw1a))
    run_due(timezone.now())

    alert = Alert.objects.get()
    assert not alert.expected and not alert.suppressed
    assert Notification.objects.count() == 1


def test_what_still_fires_after_the_grace_period_pages(clock, oncall, maintenance, settings):
    op, cluster, fw1a = maintenance
    settings.NYIOPS_OPERATION_SILENCE_GRACE_SECONDS = 300
    failover_finding(cluster)
    alert_services.sync_alerts(scopes(cluster, fw1a))
    expectations.release(op, grace=True)  # the operation ended

    clock.shift(dt.timedelta(minutes=4))
    sweeps.release_silenced(timezone.now())
    run_due(timezone.now())
    assert Notification.objects.count() == 0  # inside the grace period

    clock.shift(dt.timedelta(minutes=2))
    sweeps.release_silenced(timezone.now())
    run_due(timezone.now())
    assert not Alert.objects.get().suppressed
    assert Notification.objects.count() == 1
