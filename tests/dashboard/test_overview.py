"""The overview shows what is wrong first, every cluster as one unit, and the data's age."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from hosts.models import Finding
from tests.dashboard.factories import (
    BackupRunFactory,
    CarpVhidFactory,
    FreshHostFactory,
    HaproxyBackendFactory,
    HostFactsFactory,
    JailFactory,
    MirrorComponentFactory,
    MirrorFactory,
    ZPoolDeviceFactory,
    ZPoolFactory,
    firewall_pair,
)
from tests.factories import (
    BackupJobFactory,
    ClusterFactory,
    ClusterMemberFactory,
    CustomerFactory,
    FindingFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def noc(client, noc_user):
    client.force_login(noc_user)
    return client


def page(client, **params) -> str:
    response = client.get(reverse("hosts:overview"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_home_sends_staff_to_the_overview(noc):
    assert noc.get(reverse("home")).url == reverse("hosts:overview")


def test_open_findings_come_first_most_severe_first_with_their_age(noc):
    seen = timezone.now() - timedelta(minutes=7)
    FindingFactory(severity="warning", subject="tank", message="pool 85% full", first_seen_at=seen)
    FindingFactory(
        severity="critical", subject="pfsync0", message="pfsync not in sync", first_seen_at=seen
    )

    body = page(noc)

    findings = body[body.index('id="w-findings"') : body.index('id="w-hosts"')]
    assert findings.index("pfsync not in sync") < findings.index("pool 85% full")
    assert "1 critical" in findings and "1 warning" in findings
    assert "7m 0s ago" in findings or "7m 1s ago" in findings
    assert body.index('id="w-findings"') < body.index('id="w-firewalls"')


def test_healthy_firewall_pair_shows_master_states_and_healthy_word(noc):
    firewall_pair("fw1", states=(12000, 11950))

    body = page(noc)

    assert "fw1" in body and "MASTER fw1a" in body
    assert "states 12,000 / 11,950" in body
    assert "healthy" in body


def test_pair_without_pfsync_sync_says_failover_would_drop_connections(noc):
    _cluster, _a, b = firewall_pair("fw2")
    b.facts.pfsync_syncok = 0
    b.facts.save()

    body = page(noc)

    assert "Would a failover keep connections?" in body
    assert "No: pfsync not in sync on fw2b; connections would drop" in body
    assert "badge-critical" in body


def test_pair_with_matching_synced_tables_says_failover_keeps_connections(noc):
    cluster, _a, _b = firewall_pair("fw3")
    FindingFactory(cluster=cluster, severity="warning", message="something else")

    body = page(noc)

    assert "Yes: pfsync in sync, state tables match (12,000 / 11,950)" in body


def test_split_brain_is_shown_as_critical_with_both_masters(noc):
    _cluster, _a, b = firewall_pair("fw4")
    b.carp_vhids.update(state="MASTER")

    body = page(noc)

    assert "split brain: MASTER on fw4a, fw4b" in body


def test_stale_member_makes_the_verdict_unknown_not_green(noc):
    _cluster, _a, b = firewall_pair("fw5")
    b.last_success_at = timezone.now() - timedelta(minutes=10)
    b.save()

    body = page(noc)

    assert "Can&#x27;t tell: no fresh data from fw5b" in body
    assert "stale" in body


def test_load_balancer_pair_shows_backend_capacity(noc):
    cluster = ClusterFactory(name="lb1", kind="loadbalancer")
    for suffix, up in (("a", 3), ("b", 1)):
        host = FreshHostFactory(name=f"lb1{suffix}", roles=["loadbalancer"])
        ClusterMemberFactory(cluster=cluster, host=host)
        CarpVhidFactory(host=host, state="MASTER" if suffix == "a" else "BACKUP")
        HaproxyBackendFactory(host=host, name="web", servers_up=up, servers_total=3)

    body = page(noc)

    assert "backend web" in body and "1/3 servers UP" in body


def test_jail_service_cluster_shows_running_jails_per_member(noc):
    cluster = ClusterFactory(name="dns", kind="jail-service")
    for suffix in "ab":
        host = FreshHostFactory(name=f"jh{suffix}", roles=["jailhost"])
        ClusterMemberFactory(cluster=cluster, host=host)
        JailFactory(host=host, name="ns", running=suffix == "a")

    body = page(noc)

    assert "jails 1/1 + 0/1" in body


def test_degraded_mirror_shows_rebuild_progress_and_eta(noc):
    mirror = MirrorFactory(state="DEGRADED")
    MirrorComponentFactory(mirror=mirror, name="ada0", state="ACTIVE")
    MirrorComponentFactory(mirror=mirror, name="ada1", state="SYNCHRONIZING", synchronized_pct=40)
    from tests.dashboard.factories import StatusEventFactory

    StatusEventFactory(
        host=mirror.host, subject_type="mirror", subject="gm0", old="COMPLETE", new="DEGRADED",
        at=timezone.now() - timedelta(minutes=20),
    )  # fmt: skip

    body = page(noc)

    storage = body[body.index('id="w-storage"') :]
    assert "mirror/gm0" in storage and "DEGRADED" in storage and "40%" in storage
    assert "≈ 30m" in storage  # 40 % in 20 min: 60 % more takes 30 min


def test_pool_with_device_errors_is_listed_even_when_online(noc):
    pool = ZPoolFactory(name="tank", health="ONLINE")
    ZPoolDeviceFactory(pool=pool, name="da3", cksum_errors=4)

    body = page(noc)

    assert "pool tank" in body and "device errors while the pool is ONLINE" in body


def test_resilvering_pool_shows_progress_and_eta(noc):
    ZPoolFactory(
        name="data", health="DEGRADED", scan_kind="resilver", scan_state="in_progress",
        scan_pct=62.5, scan_eta="00:14:10",
    )  # fmt: skip

    body = page(noc)

    assert "resilver in progress" in body and "62%" in body and "00:14:10" in body


def test_backups_show_each_customers_oldest_good_restore_point(noc):
    acme = CustomerFactory(slug="acme", name="Acme")
    fresh = BackupJobFactory(source=FreshHostFactory(customer=acme), schedule_minutes=1440)
    old = BackupJobFactory(source=FreshHostFactory(customer=acme), schedule_minutes=1440)
    BackupRunFactory(job=fresh)
    BackupRunFactory(job=old, started_at=timezone.now() - timedelta(days=3))
    BackupRunFactory(job=old, started_at=timezone.now() - timedelta(hours=1), exit_code=23)

    body = page(noc)

    backups = body[body.index('id="w-backups"') :]
    assert "Acme" in backups and "restore point too old" in backups
    assert old.name in backups and "last exit 23" in backups


def test_unreachable_and_stale_hosts_are_listed_with_reason(noc):
    FreshHostFactory(name="down1", reachability="unknown", reachability_reason="connect timed out")
    FreshHostFactory(name="slow1", last_success_at=timezone.now() - timedelta(hours=1))
    FreshHostFactory(name="fine1")

    body = page(noc)

    hosts = body[body.index('id="w-hosts"') : body.index('id="w-firewalls"')]
    assert "down1" in hosts and "connect timed out" in hosts
    assert "slow1" in hosts and "no good poll for over 3 intervals" in hosts
    assert "fine1" not in hosts
    assert "1 unreachable" in hosts and "1 stale" in hosts


def test_customer_filter_shows_only_that_customers_units(noc):
    a = CustomerFactory(slug="alpha", name="Alpha")
    b = CustomerFactory(slug="beta", name="Beta")
    firewall_pair("fwalpha", customer=a)
    firewall_pair("fwbeta", customer=b)

    body = page(noc, customer="alpha")

    assert "fwalpha" in body and "fwbeta" not in body


def test_health_filter_problems_hides_healthy_clusters(noc):
    firewall_pair("fwok")
    _c, _a, b = firewall_pair("fwbad")
    b.facts.pfsync_syncok = 0
    b.facts.save()

    body = page(noc, health="problems")

    assert "fwbad" in body and "fwok" not in body


@pytest.mark.parametrize(
    "params",
    [
        {"customer": "no-such"},
        {"site": "<script>"},
        {"kind": "router"},
        {"health": "purple"},
        {"customer": "x" * 5000, "kind": "%00", "health": "';--"},
    ],
)
def test_junk_filter_values_show_a_message_never_an_error(noc, params):
    body = page(noc, **params)

    assert "msg-warning" in body and "<script>" not in body


def test_wall_screen_mode_has_no_navigation_and_keeps_refreshing(noc):
    body = page(noc, wall="1")

    assert 'class="noc wall"' in body
    assert 'class="topbar"' not in body
    assert "data-live" in body


def test_alerts_link_appears_only_when_the_alerts_app_is_installed(noc, monkeypatch):
    monkeypatch.setattr("hosts.views.apps.is_installed", lambda name: False)

    assert "/alerts" not in page(noc)


def test_search_finds_hosts_clusters_jails_vips_and_customers(noc):
    acme = CustomerFactory(slug="needle-co", name="Needle Co")
    _cluster, a, _b = firewall_pair("needlefw", customer=acme)
    JailFactory(name="needlejail")
    CarpVhidFactory(host=a, vhid=7, vips=["203.0.113.77/32"])

    body = noc.get(reverse("hosts:search"), {"q": "needle"}).content.decode()
    vip = noc.get(reverse("hosts:search"), {"q": "203.0.113.77"}).content.decode()

    assert "needlefw" in body and "needlefwa" in body and "needlejail" in body
    assert "Needle Co" in body
    assert "203.0.113.77/32" in vip


def test_findings_resolved_disappear_from_the_overview(noc):
    finding = FindingFactory(message="pool degraded")
    assert "pool degraded" in page(noc)

    Finding.objects.filter(pk=finding.pk).delete()

    assert "pool degraded" not in page(noc)


def test_host_facts_without_poll_show_not_polled(noc):
    HostFactsFactory(host=FreshHostFactory(name="newbie", reachability="new", last_success_at=None))

    assert "not polled yet" in page(noc)
