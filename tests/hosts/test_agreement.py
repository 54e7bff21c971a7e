"""One judge (issue 13): the health rules and every widget that shows a subject agree.

Each case builds one observed state in the database, runs the rules on it exactly as a poll
does (`evaluate_and_store`, and the poll-staleness sweep), then reads the widget that shows
that subject and asserts its tone is the tone of the worst finding the rules raised for it.
Agreement runs both ways: a widget may not be greener than a finding (a NOC engineer would
see a green widget above a critical finding) and may not alarm where no rule finds anything.
"info" and "ok" are the same level here: neither asks anybody to act.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.dashboard.backups import backups
from hosts.dashboard.clusters import clusters
from hosts.dashboard.common import Filters
from hosts.dashboard.hosts import hosts_attention
from hosts.dashboard.storage import storage
from hosts.health.store import evaluate_and_store, evaluate_stale_polls
from hosts.health.verdicts import (
    POOL_CRITICAL_HEALTH,
    pool_health_severity,
    state_tone,
    tone_of,
    worst,
)
from hosts.models import Finding, HostFacts
from tests.dashboard.factories import (
    CarpVhidFactory,
    FreshHostFactory,
    HaproxyBackendFactory,
    HaproxyServerFactory,
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
)

pytestmark = pytest.mark.django_db

HOST_KINDS = ("host_unreachable", "host_key_unknown", "host_key_changed", "poll_stale")
POOL_KINDS = ("pool_faulted", "pool_degraded", "device_errors", "pool_capacity", "scrub_overdue")
BACKUP_KINDS = ("backup_failed", "backup_stale")


def level(tone: str) -> str:
    return "ok" if tone in ("ok", "info") else tone


def judged(*hosts, kinds=None, key: str | None = None) -> str:
    """Run the rules for `hosts`, then the level of the worst finding (of `kinds`, about
    `key`) they stored."""
    now = timezone.now()
    for host in hosts:
        evaluate_and_store(host, now=now)
    evaluate_stale_polls(now=now)
    found = Finding.objects.all()
    if kinds:
        found = found.filter(kind__in=kinds)
    if key:
        found = found.filter(dedup_key__endswith=f":{key}")
    return level(worst(*(tone_of(f.severity) for f in found)))


def hosts_widget_tone(host) -> str:
    rows = {r.id: r for r in hosts_attention(Filters())["hosts"]}
    return level(rows[host.pk].tone) if host.pk in rows else "ok"


def storage_widget_tone(kind: str, host, name: str) -> str:
    rows = [r for r in storage(Filters())["rows"] if r.kind == kind and r.host_id == host.pk]
    return level(next((r.tone for r in rows if r.name == name), "ok"))


def cluster_card(cluster):
    w = clusters(Filters(), cluster.kind)
    return next(v for v in [*w["problems"], *w["healthy"]] if v.id == cluster.pk)


# --- a host on its own: the hosts widget ------------------------------------------------


def _unreachable():
    return FreshHostFactory(reachability="unknown", reachability_reason="connect timed out")


def _key_unknown():
    return FreshHostFactory(reachability="host_key_unknown", last_success_at=None)


def _key_changed():
    return FreshHostFactory(reachability="host_key_changed")


def _polls_stopped():
    an_hour_ago = timezone.now() - timedelta(hours=1)
    return FreshHostFactory(last_poll_at=an_hour_ago, last_success_at=an_hour_ago)


@pytest.mark.parametrize(
    "make",
    [FreshHostFactory, _unreachable, _key_unknown, _key_changed, _polls_stopped],
    ids=["healthy", "unreachable", "key-unknown", "key-changed", "polls-stopped"],
)
def test_hosts_widget_agrees_with_the_host_rules(make):
    host = make()

    assert hosts_widget_tone(host) == judged(host, kinds=HOST_KINDS)


# --- storage: pools and mirrors ---------------------------------------------------------


def _pool(health="ONLINE", **fields):
    fields.setdefault("scan_kind", "scrub")
    fields.setdefault("scan_state", "finished")
    fields.setdefault("scan_finished_at", timezone.now() - timedelta(days=2))
    return ZPoolFactory(name="tank", health=health, **fields)


@pytest.mark.parametrize("health", ["ONLINE", "DEGRADED", *POOL_CRITICAL_HEALTH])
def test_storage_widget_agrees_with_the_pool_rules_for_every_pool_health(health):
    pool = _pool(health)

    expected = judged(pool.host, kinds=POOL_KINDS, key="tank")
    assert storage_widget_tone("pool", pool.host, "tank") == expected
    assert expected == level(tone_of(pool_health_severity(health)))


@pytest.mark.parametrize(
    ("health", "device_state", "cksum"),
    [("ONLINE", "ONLINE", 4), ("DEGRADED", "FAULTED", 0), ("DEGRADED", "REMOVED", 0)],
    ids=["online-with-checksum-errors", "degraded-disk-faulted", "degraded-disk-removed"],
)
def test_storage_widget_agrees_with_the_device_rules(health, device_state, cksum):
    pool = _pool(health)
    ZPoolDeviceFactory(pool=pool, name="da1", state=device_state, cksum_errors=cksum)

    expected = judged(pool.host, kinds=POOL_KINDS, key="tank")
    assert storage_widget_tone("pool", pool.host, "tank") == expected


@pytest.mark.parametrize("cap_pct", [50, 85, 95])
def test_storage_widget_agrees_with_the_capacity_rule(cap_pct):
    pool = _pool(cap_pct=cap_pct)

    expected = judged(pool.host, kinds=POOL_KINDS, key="tank")
    assert storage_widget_tone("pool", pool.host, "tank") == expected


def test_a_resilvering_pool_is_listed_without_alarming_where_no_rule_does():
    pool = _pool("ONLINE", scan_kind="resilver", scan_state="in_progress", scan_pct=40.0)

    assert judged(pool.host, kinds=POOL_KINDS, key="tank") == "ok"
    assert storage_widget_tone("pool", pool.host, "tank") == "ok"


@pytest.mark.parametrize(
    ("state", "components"),
    [
        ("DEGRADED", [("ACTIVE", None), ("SYNCHRONIZING", 40)]),
        ("DEGRADED", [("ACTIVE", None)]),
        ("BROKEN", [("ACTIVE", None), ("SYNCHRONIZING", 10)]),
    ],
    ids=["rebuilding", "degraded-not-rebuilding", "other-state-rebuilding"],
)
def test_storage_widget_agrees_with_the_mirror_rule(state, components):
    mirror = MirrorFactory(name="gm0", state=state)
    for component_state, pct in components:
        MirrorComponentFactory(mirror=mirror, state=component_state, synchronized_pct=pct)

    expected = judged(mirror.host, kinds=("mirror_degraded",), key="gm0")
    assert storage_widget_tone("mirror", mirror.host, "gm0") == expected


# --- CARP pairs: the firewall cluster card ----------------------------------------------


@pytest.mark.parametrize(
    ("change", "verdict"),
    [
        ({}, None),
        ({"b": {"vhid_state": "MASTER"}}, None),
        ({"b": {"pfsync_syncok": 0}}, "failover"),
        ({"b": {"pf_states": 10500}}, "failover"),  # 12.5 %: above 10 %, below the old 20 %
        ({"b": {"pf_states": 11000}}, "failover"),  # 8 %: within the threshold
        ({"b": {"pf_ruleset_hash": "b" * 64}}, None),
        ({"b": {"carp_demotion": 240}}, None),
        ({"a": {"vhid_state": "BACKUP"}}, None),
        ({"a": {"vhid_state": "BACKUP"}, "b": {"vhid_state": "MASTER"}}, None),
        ({"b": {"subsystem_errors": {"pf": "unexpected output"}}}, None),
    ],
    ids=[
        "healthy",
        "split-brain",
        "pfsync-not-in-sync",
        "tables-12pc-apart",
        "tables-8pc-apart",
        "ruleset-drift",
        "member-demoted",
        "no-master",
        "preferred-master-is-backup",
        "member-pf-unreadable",
    ],
)
def test_firewall_card_agrees_with_the_pair_rules(change, verdict):
    cluster, a, b = firewall_pair()
    for host in (a, b):
        fields = dict(change.get(host.name[-1], {}))
        vhid_state = fields.pop("vhid_state", None)
        if vhid_state:
            host.carp_vhids.update(state=vhid_state)
        if fields:
            HostFacts.objects.filter(host=host).update(**fields)

    expected = judged(a, b)
    card = cluster_card(cluster)
    assert level(card.tone) == expected
    if verdict == "failover":
        pair_findings = Finding.objects.filter(
            kind__in=("pfsync_down", "state_tables_diverged"), cluster=cluster
        )
        assert level(card.failover.tone) == level(
            worst(*(tone_of(f.severity) for f in pair_findings))
        )


# --- jails: the jail-service cluster card ----------------------------------------------


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_jail_service_card_agrees_with_the_jail_rule(running):
    cluster = ClusterFactory(kind="jail-service")
    host = FreshHostFactory(roles=["jailhost"])
    ClusterMemberFactory(cluster=cluster, host=host)
    HostFactsFactory(host=host)
    CarpVhidFactory(host=host)
    JailFactory(host=host, name="www", running=running)

    expected = judged(host)
    assert level(cluster_card(cluster).tone) == expected


# --- HAProxy: the load-balancer cluster card --------------------------------------------


@pytest.mark.parametrize(
    "statuses",
    [("UP", "UP"), ("UP", "DOWN"), ("DOWN", "DOWN"), ("UP", "MAINT"), ("UP", "DOWN", "DOWN")],
    ids=["all-up", "one-down", "all-down", "one-in-maintenance", "two-of-three-down"],
)
def test_load_balancer_card_agrees_with_the_backend_rules(statuses):
    cluster = ClusterFactory(kind="loadbalancer")
    lb = FreshHostFactory(roles=["loadbalancer"])
    ClusterMemberFactory(cluster=cluster, host=lb)
    HostFactsFactory(host=lb)
    CarpVhidFactory(host=lb)
    up = sum(s == "UP" for s in statuses)
    backend = HaproxyBackendFactory(host=lb, name="web", servers_up=up, servers_total=len(statuses))
    for status in statuses:
        HaproxyServerFactory(backend=backend, status=status)

    expected = judged(lb, kinds=("member_down", "backend_capacity"), key="web")
    card = cluster_card(cluster)
    assert level(card.backends[0].verdict.tone) == expected
    assert level(card.tone) == level(worst(*(tone_of(f.severity) for f in Finding.objects.all())))


# --- backups: the backups widget --------------------------------------------------------


@pytest.mark.parametrize(
    ("exit_code", "hours_ago", "verified"),
    [
        (0, 2, True),
        (255, 2, True),
        (23, 2, True),
        (24, 2, True),
        (0, 2, False),
        (0, 72, True),
    ],
    ids=["fresh", "unreachable-source", "partial", "vanished-files", "snapshot-missing", "stale"],
)
def test_backups_widget_agrees_with_the_backup_rules(exit_code, hours_ago, verified):
    customer = CustomerFactory()
    job = BackupJobFactory(
        source=FreshHostFactory(customer=customer),
        target=FreshHostFactory(roles=["storage"]),
        schedule_minutes=1440,
    )
    job.created_at = timezone.now() - timedelta(days=30)
    job.save()
    started = timezone.now() - timedelta(hours=hours_ago)
    job.runs.create(
        started_at=started,
        finished_at=started + timedelta(minutes=20),
        exit_code=exit_code,
        snapshot="tank/backups/x@nightly",
        snapshot_verified=verified,
    )

    expected = judged(job.target, kinds=BACKUP_KINDS)
    rows = {r.customer_id: r for r in backups(Filters())["rows"]}
    assert level(rows[customer.pk].tone) == expected


# --- template badges --------------------------------------------------------------------


@pytest.mark.parametrize("health", ["ONLINE", "DEGRADED", *POOL_CRITICAL_HEALTH])
def test_a_pool_health_badge_has_the_tone_of_the_pool_rule(health):
    assert level(state_tone(health)) == level(tone_of(pool_health_severity(health)))
