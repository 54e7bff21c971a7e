"""Root-cause grouping, storms, and maintenance windows."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from alerts import services, sweeps
from alerts.choices import AlertState, EventKind, NotificationStatus
from alerts.models import Alert, MaintenanceWindow, Notification
from hosts.models import Finding
from tests.alerts.conftest import run_due
from tests.alerts.factories import failover_finding
from tests.factories import (
    ClusterFactory,
    ClusterMemberFactory,
    FindingFactory,
    HostFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db


def unreachable(host):
    return FindingFactory(
        host=host,
        kind="host_unreachable",
        severity="critical",
        subject=host.name,
        dedup_key=f"host_unreachable:host:{host.name}",
        message="connect timed out after 5 s",
        details={},
    )


def scopes_of(host):
    return [f"host:{host.pk}"] + [f"cluster:{c.pk}" for c in host.clusters.all()]


def test_unreachable_host_explains_its_own_and_its_clusters_findings(clock, pair, oncall):
    cluster, fw1a, _fw1b = pair
    unreachable(fw1a)
    FindingFactory(host=fw1a, kind="mirror_degraded", dedup_key="m")
    failover_finding(cluster)

    services.sync_alerts(scopes_of(fw1a))
    run_due(timezone.now())

    root = Alert.objects.get(kind="host_unreachable")
    children = Alert.objects.exclude(pk=root.pk)
    assert root.parent is None
    assert {a.parent_id for a in children} == {root.pk} and children.count() == 2
    sent = Notification.objects.filter(status=NotificationStatus.SENT)
    assert list(sent.values_list("alert_id", flat=True)) == [root.pk]
    assert "Also explains 2 other alert(s)" in mail.outbox[0].body
    assert "fw1b became MASTER" in mail.outbox[0].body


def test_grouped_child_that_already_paged_stops_escalating(clock, pair, oncall):
    cluster, fw1a, _fw1b = pair
    failover_finding(cluster)
    services.sync_alerts(scopes_of(fw1a))
    run_due(timezone.now())
    failover = Alert.objects.get()

    unreachable(fw1a)
    services.sync_alerts(scopes_of(fw1a))
    clock.shift(dt.timedelta(minutes=30))
    run_due(timezone.now())

    failover.refresh_from_db()
    assert failover.parent is not None and failover.next_step_at is None
    assert Notification.objects.filter(alert=failover).count() == 1
    assert failover.events.filter(kind=EventKind.GROUPED).exists()


def test_child_pages_on_its_own_when_its_root_clears(clock, pair, oncall):
    _cluster, fw1a, _fw1b = pair
    unreachable(fw1a)
    FindingFactory(host=fw1a, kind="mirror_degraded", dedup_key="m")
    services.sync_alerts(scopes_of(fw1a))
    run_due(timezone.now())

    Finding.objects.filter(kind="host_unreachable").delete()
    services.sync_alerts(scopes_of(fw1a))
    run_due(timezone.now())

    mirror = Alert.objects.get(kind="mirror_degraded")
    assert mirror.parent is None and mirror.state == AlertState.FIRING
    assert Notification.objects.filter(alert=mirror, status=NotificationStatus.SENT).count() == 1
    assert mirror.events.filter(kind=EventKind.UNGROUPED).exists()


def test_vip_down_explains_the_load_balancer_backend_findings(clock, oncall):
    lb_pair = ClusterFactory(name="lb-pair-1", kind="loadbalancer")
    lb1 = HostFactory(name="lb1", roles=["loadbalancer"])
    ClusterMemberFactory(cluster=lb_pair, host=lb1)
    FindingFactory(
        cluster=lb_pair,
        kind="no_master",
        severity="critical",
        dedup_key="nm",
        subject="lb-pair-1",
        details={"vhids": [10]},
    )
    FindingFactory(host=lb1, kind="backend_capacity", dedup_key="bc", subject="lb1/web")

    services.sync_alerts(scopes_of(lb1))

    root = Alert.objects.get(kind="no_master")
    assert Alert.objects.get(kind="backend_capacity").parent == root


def test_storm_from_a_dead_site_pages_once(clock, oncall):
    site = SiteFactory(slug="ams1", name="Amsterdam 1")
    hosts = [HostFactory(name=f"web{i:02d}", site=site) for i in range(50)]
    for host in hosts:
        unreachable(host)
        for j in range(19):
            FindingFactory(
                host=host,
                kind="jail_not_running",
                dedup_key=f"j:{host.name}:{j}",
                severity="warning",
                subject=f"{host.name}/jail{j}",
            )
    assert Finding.objects.count() == 1000

    for host in hosts:  # one sync per poll, as the poller calls it
        services.sync_alerts(scopes_of(host))
    for _ in range(4):
        run_due(timezone.now())
        clock.shift(dt.timedelta(minutes=10))

    roots = Alert.objects.open().filter(parent__isnull=True)
    assert Alert.objects.count() == 1000 and roots.count() == 1
    # One root escalating through 3 steps: oncall, secondary, NOC team (one NOC member).
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 3


def test_maintenance_window_records_but_does_not_page_then_pages_what_still_fires(
    clock, pair, oncall, noc_user
):
    cluster, fw1a, _fw1b = pair
    MaintenanceWindow.objects.create(
        cluster=cluster,
        starts_at=timezone.now(),
        ends_at=timezone.now() + dt.timedelta(minutes=30),
        reason="pf upgrade",
    )
    failover_finding(cluster)
    services.sync_alerts(scopes_of(fw1a))
    for _ in range(2):
        run_due(timezone.now())
        sweeps.release_silenced(timezone.now())
        clock.shift(dt.timedelta(minutes=10))

    alert = Alert.objects.get()
    assert alert.suppressed and alert.state == AlertState.FIRING
    assert Notification.objects.count() == 0 and mail.outbox == []
    assert alert.events.filter(kind=EventKind.SUPPRESSED).exists()

    clock.shift(dt.timedelta(minutes=11))  # the window has ended
    sweeps.release_silenced(timezone.now())
    run_due(timezone.now())

    alert.refresh_from_db()
    assert not alert.suppressed
    assert [m.to for m in mail.outbox] == [["oscar-oncall@example.test"]]


def test_alert_that_clears_inside_the_window_never_pages(clock, pair, oncall):
    cluster, fw1a, _fw1b = pair
    MaintenanceWindow.objects.create(
        host=fw1a,
        starts_at=timezone.now(),
        ends_at=timezone.now() + dt.timedelta(minutes=30),
        reason="reboot",
        silence=True,
    )
    failover_finding(cluster)
    services.sync_alerts(scopes_of(fw1a))
    Finding.objects.all().delete()
    services.sync_alerts(scopes_of(fw1a))
    clock.shift(dt.timedelta(hours=1))

    sweeps.release_silenced(timezone.now())
    run_due(timezone.now())

    assert Alert.objects.get().state == AlertState.RESOLVED and mail.outbox == []


def test_window_that_starts_mid_escalation_stops_the_paging(clock, oncall):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="k")
    services.sync_alerts([f"host:{host.pk}"])
    run_due(timezone.now())
    MaintenanceWindow.objects.create(
        host=host,
        starts_at=timezone.now(),
        ends_at=timezone.now() + dt.timedelta(hours=2),
        reason="disk swap",
    )

    clock.shift(dt.timedelta(minutes=6))
    run_due(timezone.now())

    alert = Alert.objects.get()
    assert alert.suppressed and Notification.objects.count() == 1
