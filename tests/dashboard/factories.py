"""Factories for the observed models, and a bulk fleet seeder for query-count tests and the
benchmark. Polling fills these tables in production; the dashboard is tested against rows
made here so its tests do not depend on the poller."""

from __future__ import annotations

import random
from datetime import timedelta

import factory
from django.utils import timezone

from customers.models import Customer
from hosts.models import (
    BackupJob,
    BackupRun,
    CarpVhid,
    Cluster,
    ClusterMember,
    Finding,
    HaproxyBackend,
    HaproxyServer,
    Host,
    HostFacts,
    Jail,
    MetricSample,
    Mirror,
    MirrorComponent,
    Site,
    StatusEvent,
    ZPool,
    ZPoolDevice,
)
from tests.factories import ClusterFactory, ClusterMemberFactory, HostFactory

# The observed-row timestamp was renamed (observed_at -> changed_at) while this was written;
# set whichever the model has.
STAMP = (
    "changed_at" if any(f.name == "changed_at" for f in CarpVhid._meta.fields) else "observed_at"
)


def stamp() -> dict:
    return {STAMP: timezone.now()}


class ObservedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.setdefault(STAMP, timezone.now())
        return super()._create(model_class, *args, **kwargs)


class FreshHostFactory(HostFactory):
    reachability = "ok"
    last_poll_at = factory.LazyFunction(timezone.now)
    last_success_at = factory.LazyFunction(timezone.now)
    last_poll_duration_ms = 850


class HostFactsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostFacts

    host = factory.SubFactory(FreshHostFactory)
    freebsd_version = "14.2-RELEASE-p1"
    pf_enabled = True
    pf_states = 12000
    pfsync_present = True
    pfsync_syncok = 1
    carp_preempt = 1
    carp_demotion = 0
    pf_ruleset_hash = "a" * 64


class CarpVhidFactory(ObservedFactory):
    class Meta:
        model = CarpVhid

    host = factory.SubFactory(FreshHostFactory)
    interface = "em0"
    vhid = 1
    state = "MASTER"
    advbase = 1
    advskew = 0
    vips = factory.LazyFunction(lambda: ["198.51.100.10/24"])


class MirrorFactory(ObservedFactory):
    class Meta:
        model = Mirror

    host = factory.SubFactory(FreshHostFactory)
    name = "gm0"
    state = "COMPLETE"
    balance = "load"
    components_count = 2


class MirrorComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MirrorComponent

    mirror = factory.SubFactory(MirrorFactory)
    name = factory.Sequence(lambda n: f"ada{n}")
    state = "ACTIVE"


class ZPoolFactory(ObservedFactory):
    class Meta:
        model = ZPool

    host = factory.SubFactory(FreshHostFactory)
    name = "tank"
    health = "ONLINE"
    size = 4 * 2**40
    alloc = 2**40
    free = 3 * 2**40
    cap_pct = 25
    frag_pct = 3


class ZPoolDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ZPoolDevice

    pool = factory.SubFactory(ZPoolFactory)
    position = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"da{n}")
    state = "ONLINE"
    depth = 1  # a disk under the pool's own line (depth 0), as zpool status nests them


class JailFactory(ObservedFactory):
    class Meta:
        model = Jail

    host = factory.SubFactory(FreshHostFactory)
    name = factory.Sequence(lambda n: f"jail{n}")
    jid = factory.Sequence(lambda n: n + 1)
    hostname = factory.LazyAttribute(lambda j: f"{j.name}.example.test")
    path = factory.LazyAttribute(lambda j: f"/jails/{j.name}")
    ipv4 = factory.LazyFunction(lambda: ["192.0.2.10"])


class HaproxyBackendFactory(ObservedFactory):
    class Meta:
        model = HaproxyBackend

    host = factory.SubFactory(FreshHostFactory)
    name = "web"
    status = "UP"
    scur = 12
    servers_up = 2
    servers_total = 2


class HaproxyServerFactory(ObservedFactory):
    class Meta:
        model = HaproxyServer

    backend = factory.SubFactory(HaproxyBackendFactory)
    name = factory.Sequence(lambda n: f"web{n}")
    address = "10.0.0.1:80"
    status = "UP"
    weight = 1
    scur = 6


class BackupRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupRun

    job = factory.SubFactory("tests.factories.BackupJobFactory")
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    finished_at = factory.LazyAttribute(lambda r: r.started_at + timedelta(minutes=20))
    exit_code = 0
    bytes_transferred = 5 * 2**30
    files_transferred = 1200
    snapshot = "tank/backups/x@nightly"
    snapshot_verified = True


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    dedup_key = factory.Sequence(lambda n: f"finding-{n}")
    scope = "host"
    kind = "pfsync_down"
    severity = "critical"
    subject = "pfsync0"
    message = "pfsync is not in sync"
    first_seen_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=7))
    last_seen_at = factory.LazyFunction(timezone.now)


class StatusEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusEvent

    host = factory.SubFactory(FreshHostFactory)
    at = factory.LazyFunction(timezone.now)
    subject_type = "carp"
    subject = "vhid 1@em0"
    field = "state"
    old = "BACKUP"
    new = "MASTER"


def firewall_pair(name="fw1", *, customer=None, states=(12000, 11950), master="a"):
    """A healthy-looking CARP pair: fw1a MASTER, fw1b BACKUP, pfsync in sync."""
    cluster = ClusterFactory(name=name, kind="firewall", customer=customer)
    hosts = []
    for suffix, role in (("a", "primary"), ("b", "backup")):
        host = FreshHostFactory(name=f"{name}{suffix}", roles=["firewall"], customer=customer)
        ClusterMemberFactory(cluster=cluster, host=host, role=role)
        HostFactsFactory(host=host, pf_states=states[0 if suffix == "a" else 1])
        CarpVhidFactory(host=host, state="MASTER" if suffix == master else "BACKUP")
        hosts.append(host)
    return cluster, hosts[0], hosts[1]


# --- bulk seeding ----------------------------------------------------------------------


def seed_fleet(hosts: int, *, jails_per_host: int = 10, problem_every: int = 20, seed: int = 7):
    """A fleet of `hosts` hosts: 40 % firewall pairs, 20 % LB pairs, 40 % jail-service
    pairs (so hosts/2 clusters), every host with facts, a pool and a mirror; jail hosts with
    `jails_per_host` jails; every `problem_every`-th cluster broken in some way. Bulk
    inserts: 1,000 hosts take seconds."""
    rng = random.Random(seed)
    now = timezone.now()
    site, _ = Site.objects.get_or_create(slug="nyc1", defaults={"name": "New York 1"})
    customers = [
        Customer.objects.get_or_create(slug=f"cust-{i}", defaults={"name": f"Customer {i}"})[0]
        for i in range(max(hosts // 40, 2))
    ]
    pairs = hosts // 2
    # Every five pairs hold each kind, so even a 10-host fleet runs every query path.
    kinds = ["firewall", "loadbalancer", "jail-service", "firewall", "jail-service"]
    start = Host.objects.count()
    host_rows = []
    for i in range(pairs * 2):
        kind = kinds[(i // 2) % len(kinds)]
        role = {"firewall": "firewall", "loadbalancer": "loadbalancer"}.get(kind, "jailhost")
        host_rows.append(
            Host(
                name=f"s{start + i}-{kind[:3]}{i // 2}{'ab'[i % 2]}",
                address="127.0.0.1",
                ssh_port=20000 + (start + i) % 40000,
                ssh_user="nyiops",
                roles=[role, "storage"],
                customer=customers[(i // 2) % len(customers)],
                site=site,
                reachability="ok",
                last_poll_at=now,
                last_success_at=now - timedelta(seconds=rng.randint(0, 10)),
                last_poll_duration_ms=rng.randint(300, 2000),
            )
        )
    host_objs = Host.objects.bulk_create(host_rows)
    cluster_objs = Cluster.objects.bulk_create(
        Cluster(
            name=f"c{start + 2 * p}-{kinds[p % len(kinds)]}-{p}",
            kind=kinds[p % len(kinds)],
            customer=host_objs[2 * p].customer,
        )
        for p in range(pairs)
    )
    ClusterMember.objects.bulk_create(
        ClusterMember(cluster=c, host=host_objs[2 * p + k], role=("primary", "backup")[k])
        for p, c in enumerate(cluster_objs)
        for k in (0, 1)
    )
    facts, vhids, backends, jails, pools, mirrors, findings = [], [], [], [], [], [], []
    for p, cluster in enumerate(cluster_objs):
        broken = p % problem_every == 0
        for k in (0, 1):
            host = host_objs[2 * p + k]
            facts.append(
                HostFacts(
                    host=host,
                    pf_enabled=True,
                    pf_states=10000 + rng.randint(0, 50),
                    pfsync_present=True,
                    pfsync_syncok=0 if broken and k == 1 else 1,
                    carp_preempt=1,
                    pf_ruleset_hash="r1",
                )
            )
            pools.append(ZPool(host=host, name="tank", health="ONLINE", cap_pct=40, **stamp()))
            mirrors.append(
                Mirror(host=host, name="gm0", state="DEGRADED" if broken else "COMPLETE", **stamp())
            )
            if cluster.kind in ("firewall", "loadbalancer"):
                for vhid in (1, 2):
                    vhids.append(
                        CarpVhid(
                            host=host, interface="em0", vhid=vhid, advbase=1, advskew=k * 100,
                            state="MASTER" if k == 0 else "BACKUP",
                            vips=[f"198.51.{p % 250}.{vhid}/24"],
                            **stamp(),
                        )
                    )  # fmt: skip
            if cluster.kind == "loadbalancer":
                for b in ("web", "api"):
                    backends.append(
                        HaproxyBackend(
                            host=host, name=b, status="UP", scur=rng.randint(0, 400),
                            servers_up=1 if broken else 3, servers_total=3, **stamp(),
                        )
                    )  # fmt: skip
            if cluster.kind == "jail-service":
                for j in range(jails_per_host):
                    jails.append(
                        Jail(
                            host=host, name=f"j{j}", jid=j + 1, hostname=f"j{j}.{host.name}.test",
                            ipv4=[f"10.{p % 250}.{k}.{j}"], running=not (broken and j == 0),
                            **stamp(),
                        )
                    )  # fmt: skip
        if broken:
            findings.append(
                Finding(
                    dedup_key=f"seed:{cluster.pk}", scope=f"cluster:{cluster.pk}",
                    kind="pfsync_down", severity="critical", cluster=cluster,
                    host=host_objs[2 * p + 1], subject="pfsync0", message="pfsync not in sync",
                    first_seen_at=now - timedelta(minutes=p % 60), last_seen_at=now,
                )
            )  # fmt: skip
    HostFacts.objects.bulk_create(facts)
    CarpVhid.objects.bulk_create(vhids)
    HaproxyBackend.objects.bulk_create(backends)
    Jail.objects.bulk_create(jails, batch_size=2000)
    ZPool.objects.bulk_create(pools)
    Mirror.objects.bulk_create(mirrors)
    Finding.objects.bulk_create(findings)
    storage = host_objs[0]
    jobs = BackupJob.objects.bulk_create(
        BackupJob(
            name=f"bk{start + i}", source=h, target=storage, dataset=f"tank/backups/bk{start + i}",
            log_path=f"/var/log/nyiops-backup/bk{start + i}.log",
        )
        for i, h in enumerate(host_objs)
    )  # fmt: skip
    BackupRun.objects.bulk_create(
        BackupRun(
            job=job, started_at=now - timedelta(hours=h), finished_at=now - timedelta(hours=h) +
            timedelta(minutes=15), exit_code=0 if h else 23, bytes_transferred=2**30,
            snapshot_verified=True,
        )
        for job in jobs
        for h in (0, 24)
    )  # fmt: skip
    MetricSample.objects.bulk_create(
        MetricSample(host=h, metric="pf_states", at=now - timedelta(minutes=m), value=10000 + m)
        for h in host_objs[:20]
        for m in range(0, 120, 5)
    )
    return cluster_objs, host_objs


__all__ = [
    "BackupRunFactory",
    "CarpVhidFactory",
    "FindingFactory",
    "FreshHostFactory",
    "HaproxyBackendFactory",
    "HaproxyServerFactory",
    "HostFactsFactory",
    "JailFactory",
    "MirrorComponentFactory",
    "MirrorFactory",
    "StatusEventFactory",
    "ZPoolDeviceFactory",
    "ZPoolFactory",
    "firewall_pair",
    "seed_fleet",
    "stamp",
]
