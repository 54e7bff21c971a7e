"""Judging a host and its clusters (`hosts.health.store.evaluate_and_store`, issue 12).

- Its reads are a fixed set of statements whatever the fleet's size and however many
  clusters the host is in, and an unchanged judgement writes nothing; a changed one writes
  only the findings that changed.
- The loader behind it (`hosts.health.load`, plain SQL) reads exactly what a plain ORM
  loader reads, for every kind of observed row, gone rows, missing facts and backup
  history; except what no rule reads: cluster peers' mirrors, pools, jails and backends,
  and the vhids of a host in no cluster.
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hosts.health.load import load
from hosts.health.state import (
    BackendState,
    BackupState,
    DeviceState,
    HostState,
    MirrorState,
    PoolState,
    VhidState,
)
from hosts.health.store import evaluate_and_store, pf_states_need_judging
from hosts.health.verdicts import GOOD_BACKUP_EXIT
from hosts.inventory.keys import fingerprint
from hosts.models import BackupJob, BackupRun, Finding, Host, HostFacts, StatusEvent
from tests.dashboard.factories import (
    BackupRunFactory,
    CarpVhidFactory,
    FreshHostFactory,
    HaproxyBackendFactory,
    HaproxyServerFactory,
    JailFactory,
    MirrorComponentFactory,
    MirrorFactory,
    StatusEventFactory,
    ZPoolDeviceFactory,
    ZPoolFactory,
    firewall_pair,
    seed_fleet,
)
from tests.factories import BackupJobFactory, ClusterFactory, ClusterMemberFactory

pytestmark = pytest.mark.django_db


# --- the reference: what the rules read, loaded the plain ORM way -------------------------


def _key(kind, b64):
    return f"{kind} {fingerprint(b64)}" if b64 else ""


def orm_host_state(pk: int) -> HostState:
    h = Host.objects.get(pk=pk)
    f = HostFacts.objects.filter(host=h).first() or HostFacts(host=h)
    master_since = dict(
        StatusEvent.objects.filter(host=h, subject_type="carp", field="state", new="MASTER")
        .values_list("subject")
        .annotate(Max("at"))
    )
    return HostState(
        id=h.pk, name=h.name, reachability=h.reachability, reason=h.reachability_reason,
        roles=tuple(h.roles), last_success_at=h.last_success_at,
        offered_key=_key(h.offered_key_type, h.offered_key_base64),
        pinned_key=_key(h.host_key_type, h.host_key_base64),
        carp_preempt=f.carp_preempt, carp_demotion=f.carp_demotion,
        pfsync_present=f.pfsync_present, pfsync_syncok=f.pfsync_syncok, pf_states=f.pf_states,
        pf_ruleset_hash=f.pf_ruleset_hash,
        vhids=tuple(
            VhidState(v.interface, v.vhid, v.state, v.advbase, v.advskew, tuple(v.vips),
                      master_since.get(f"vhid {v.vhid}@{v.interface}"))
            for v in h.carp_vhids.present()
        ),
        mirrors=tuple(
            MirrorState(m.name, m.state,
                        tuple((c.name, c.state, c.synchronized_pct) for c in m.components.all()))
            for m in h.mirrors.present()
        ),
        pools=tuple(
            PoolState(p.name, p.health, p.cap_pct, p.scan_kind, p.scan_state, p.scan_pct,
                      p.scan_finished_at,
                      tuple(DeviceState(d.name, d.state, d.read_errors, d.write_errors,
                                        d.cksum_errors, d.section, d.depth)
                            for d in p.devices.all()))
            for p in h.zpools.present()
        ),
        stopped_jails=tuple(j.name for j in h.jails.present().filter(running=False)),
        backends=tuple(
            BackendState(b.name, b.status,
                         tuple((s.name, s.status) for s in b.servers.present()))
            for b in h.haproxy_backends.present()
        ),
        subsystem_errors=dict(f.subsystem_errors or {}),
    )  # fmt: skip


def orm_backup_states(target: Host) -> list[BackupState]:
    states = []
    for job in BackupJob.objects.filter(target=target).select_related("source"):
        runs = job.runs.filter(finished_at__isnull=False)
        run = runs.order_by("-started_at").first()
        good = runs.filter(exit_code__in=GOOD_BACKUP_EXIT).exclude(snapshot_verified=False)
        states.append(
            BackupState(
                id=job.pk, name=job.name, source_id=job.source_id, source=job.source.name,
                target_id=target.pk, schedule_minutes=job.schedule_minutes,
                created_hint=job.created_at, last_exit_code=run.exit_code if run else None,
                last_finished_at=run.finished_at if run else None,
                last_error=run.error_lines[-1] if run and run.error_lines else "",
                last_snapshot_verified=run.snapshot_verified if run else None,
                last_success_at=good.aggregate(at=Max("finished_at"))["at"],
            )
        )  # fmt: skip
    return states


def without_host_rules_data(state: HostState) -> HostState:
    """A cluster peer as the loader reads it: what the cluster rules read, nothing more."""
    return replace(state, mirrors=(), pools=(), stopped_jails=(), backends=())


# --- a fleet with every kind of row -------------------------------------------------------


@pytest.fixture
def fleet():
    """fw1a/fw1b, a firewall pair after a failover, fw1a also in a VPN group with a host that
    was never polled (no facts row); nas1, a storage host in no cluster, receiving backups;
    every kind of observed row, gone rows among them, on fw1a and nas1."""
    now = timezone.now()
    cluster, fw1a, fw1b = firewall_pair("fw1", master="b", states=(12000, 9000))
    Host.objects.filter(pk=fw1a.pk).update(
        reachability="unknown", reachability_reason="connect timed out",
        offered_key_type="ssh-ed25519",
        offered_key_base64="AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    )  # fmt: skip
    HostFacts.objects.filter(host=fw1a).update(subsystem_errors={"jails": "jls exited 1"})
    for minutes in (90, 5):  # the last time fw1b became MASTER is the one that counts
        StatusEventFactory(host=fw1b, at=now - timedelta(minutes=minutes), subject="vhid 1@em0")
    StatusEventFactory(host=fw1b, subject="vhid 1@em1")  # another interface's vhid 1
    CarpVhidFactory(host=fw1a, interface="em1", vhid=2, state="BACKUP", vips=["192.0.2.1/24"])
    CarpVhidFactory(host=fw1a, interface="em2", vhid=3, gone_at=now)
    vpn = ClusterFactory(name="vpn1", kind="vpn")
    never_polled = FreshHostFactory(name="vpn1c", reachability="new", roles=["firewall"])
    for host, role in ((fw1a, "backup"), (never_polled, "primary")):
        ClusterMemberFactory(cluster=vpn, host=host, role=role)

    mirror = MirrorFactory(host=fw1a, name="gm0", state="DEGRADED")
    MirrorComponentFactory(mirror=mirror, name="ada1", state="SYNCHRONIZING", synchronized_pct=40)
    MirrorComponentFactory(mirror=mirror, name="ada0", state="ACTIVE")
    MirrorFactory(host=fw1a, name="gm1")  # no components read (yet)
    MirrorFactory(host=fw1a, name="gm9", gone_at=now)
    pool = ZPoolFactory(host=fw1a, name="tank", health="DEGRADED", scan_kind="scrub",
                        scan_state="finished", scan_pct=100.0, scan_finished_at=now)  # fmt: skip
    ZPoolDeviceFactory(pool=pool, position=0, depth=0, name="tank", state="DEGRADED")
    ZPoolDeviceFactory(pool=pool, position=2, name="da1", state="FAULTED", read_errors=3)
    ZPoolDeviceFactory(pool=pool, position=1, name="da0", cksum_errors=7, section="logs")
    ZPoolFactory(host=fw1a, name="boot")
    ZPoolFactory(host=fw1a, name="old", gone_at=now)
    JailFactory(host=fw1a, name="www")
    JailFactory(host=fw1a, name="db", running=False)
    JailFactory(host=fw1a, name="cache", running=False)
    JailFactory(host=fw1a, name="retired", running=False, gone_at=now)
    backend = HaproxyBackendFactory(host=fw1a, name="web", status="UP")
    HaproxyServerFactory(backend=backend, name="web2", status="DOWN")
    HaproxyServerFactory(backend=backend, name="web1", status="UP")
    HaproxyServerFactory(backend=backend, name="web3", status="UP", gone_at=now)
    HaproxyBackendFactory(host=fw1a, name="api", status="DOWN")
    HaproxyBackendFactory(host=fw1a, name="old", gone_at=now)
    # The peer's own problems are its own judgement's, not read with fw1a's.
    MirrorFactory(host=fw1b, name="gm0", state="DEGRADED")
    JailFactory(host=fw1b, name="stopped", running=False)

    nas1 = FreshHostFactory(name="nas1", roles=["storage"])
    CarpVhidFactory(host=nas1, state="MASTER")  # left from a cluster it has since left
    ZPoolFactory(host=nas1, name="tank", cap_pct=91, scan_finished_at=None)
    failing = BackupJobFactory(name="web1", source=fw1b, target=nas1, schedule_minutes=60)
    BackupRunFactory(job=failing, started_at=now - timedelta(hours=5))
    BackupRunFactory(job=failing, started_at=now - timedelta(hours=4), snapshot_verified=False)
    BackupRunFactory(job=failing, started_at=now - timedelta(hours=3), exit_code=24,
                     snapshot_verified=None)  # fmt: skip
    errors = ["rsync: connection unexpectedly closed", "rsync error: 255"]
    BackupRunFactory(job=failing, started_at=now - timedelta(hours=2), exit_code=255,
                     error_lines=errors)  # fmt: skip
    BackupRunFactory(job=failing, started_at=now - timedelta(minutes=5), finished_at=None,
                     exit_code=None)  # fmt: skip  # still running: not the last finished run
    BackupJobFactory(name="app1", source=fw1a, target=nas1)  # never ran
    BackupJobFactory(name="elsewhere", source=nas1)  # another target's job
    return {"fw1a": fw1a, "fw1b": fw1b, "vpn1c": never_polled, "nas1": nas1, "fw1": cluster}


def test_the_judged_host_is_read_as_a_plain_orm_loader_reads_it(fleet):
    for name in ("fw1a", "fw1b", "vpn1c"):
        pk = fleet[name].pk

        assert load([pk]).hosts[pk] == orm_host_state(pk), name


def test_cluster_peers_are_read_with_what_the_cluster_rules_read(fleet):
    fw1a, fw1b, vpn1c = fleet["fw1a"], fleet["fw1b"], fleet["vpn1c"]

    observed = load([fw1a.pk])

    assert set(observed.hosts) == {fw1a.pk, fw1b.pk, vpn1c.pk}
    assert observed.hosts[fw1b.pk] == without_host_rules_data(orm_host_state(fw1b.pk))
    assert observed.hosts[vpn1c.pk] == without_host_rules_data(orm_host_state(vpn1c.pk))
    assert observed.hosts[fw1b.pk].vhids[0].master_since == (
        StatusEvent.objects.filter(host=fw1b, subject="vhid 1@em0").latest("at").at
    )


def test_a_host_in_no_cluster_is_read_without_vhids_which_no_rule_reads(fleet):
    nas1 = fleet["nas1"]

    observed = load([nas1.pk])

    assert observed.hosts == {nas1.pk: replace(orm_host_state(nas1.pk), vhids=())}
    assert observed.clusters == []


def test_backup_jobs_are_read_as_a_plain_orm_loader_reads_them(fleet):
    nas1 = fleet["nas1"]

    backups = load([nas1.pk]).backups[nas1.pk]

    assert backups == orm_backup_states(nas1)
    assert [b.last_exit_code for b in backups] == [None, 255]  # app1 never ran; web1 failed
    assert backups[1].last_error == "rsync error: 255"


def test_clusters_are_read_with_their_members_in_the_rules_order(fleet):
    fw1a, fw1b, vpn1c = fleet["fw1a"], fleet["fw1b"], fleet["vpn1c"]

    clusters = load([fw1a.pk]).clusters_of(fw1a.pk)

    assert [(c.name, c.kind, c.members) for c in clusters] == [
        ("fw1", "firewall", ((fw1b.pk, "backup"), (fw1a.pk, "primary"))),
        ("vpn1", "vpn", ((fw1a.pk, "backup"), (vpn1c.pk, "primary"))),
    ]


def test_judging_stores_what_the_rules_find_from_the_orm_loaders_reading(fleet):
    """End to end: the findings stored are those of the rules fed by the plain ORM loader."""
    from hosts.health.backups import evaluate_backup
    from hosts.health.carp import evaluate_cluster
    from hosts.health.host import evaluate_host
    from hosts.health.state import ClusterState
    from hosts.models import Cluster

    now = timezone.now()
    for name in ("fw1a", "nas1"):
        host = fleet[name]
        evaluate_and_store(host, now=now)

        expected = evaluate_host(orm_host_state(host.pk), now)
        for backup in orm_backup_states(host):
            expected += evaluate_backup(backup, now)
        for c in Cluster.objects.filter(members__host=host):
            members = tuple((orm_host_state(m.host_id), m.role) for m in c.members.all())
            expected += evaluate_cluster(ClusterState(c.pk, c.name, c.kind, members), now)
        scopes = [f"host:{host.pk}", f"poll:{host.pk}"] + [
            f"cluster:{pk}"
            for pk in Cluster.objects.filter(members__host=host).values_list("pk", flat=True)
        ]
        stored = Finding.objects.filter(scope__in=scopes)
        assert sorted((f.dedup_key, f.severity, f.message, f.details) for f in stored) == sorted(
            (p.dedup_key, p.severity, p.message, p.details) for p in expected
        ), name
        assert expected  # the fleet is built to have findings of every scope


# --- how many statements -----------------------------------------------------------------


def judged_statements(host: Host) -> list[str]:
    """The SQL a judgement of `host` runs, judged once before so its findings are stored."""
    evaluate_and_store(host, now=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        evaluate_and_store(host, now=timezone.now())
    return [q["sql"] for q in queries]


def test_judging_a_host_and_its_clusters_reads_the_same_statements_whatever_the_fleet_size():
    _, hosts = seed_fleet(10, problem_every=2)
    firewall = hosts[0]  # in a firewall pair, and the storage host of every backup job
    small = judged_statements(firewall)
    lb = next(h for h in hosts if "loadbalancer" in h.roles)
    small_lb = judged_statements(lb)

    seed_fleet(100, problem_every=2)
    # Three more clusters for the firewall: each cluster is read with the others.
    for n in range(3):
        cluster = ClusterFactory(name=f"extra{n}", kind=("firewall", "vpn", "jail-service")[n])
        ClusterMemberFactory(cluster=cluster, host=firewall, role="backup")
        ClusterMemberFactory(cluster=cluster, host=FreshHostFactory(), role="primary")

    assert len(judged_statements(firewall)) == len(small)
    assert len(judged_statements(lb)) == len(small_lb) == len(small) <= 9


def test_an_unchanged_judgement_writes_nothing_and_a_changed_one_only_what_changed():
    _, hosts = seed_fleet(10, problem_every=2)
    host = next(h for h in hosts if "loadbalancer" in h.roles)
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in judged_statements(host))
    before = {f.dedup_key: f.last_seen_at for f in Finding.objects.all()}
    assert before

    HostFacts.objects.filter(host=host).update(carp_demotion=240)
    with CaptureQueriesContext(connection) as queries:
        scopes, _, _ = evaluate_and_store(host, now=timezone.now())

    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    # The new finding tells the dashboard's generation (hosts/dashboard/generation.py).
    announced = [sql for sql in writes if "hosts_dashboardgeneration" in sql]
    writes = [sql for sql in writes if sql not in announced]
    assert len(writes) == 1 and writes[0].startswith("INSERT")  # carp_demoted, nothing else
    assert len(announced) == 1
    assert scopes
    after = {f.dedup_key: f.last_seen_at for f in Finding.objects.all()}
    assert {k: v for k, v in after.items() if k in before} == before


def test_a_finding_held_under_another_scope_is_taken_over_with_its_first_sighting():
    """A backup job moved to another storage host: its finding moves with it (dedup_key is
    unique), and keeps first_seen_at."""
    old, new = FreshHostFactory(roles=["storage"]), FreshHostFactory(roles=["storage"])
    job = BackupJobFactory(target=old)
    BackupRunFactory(job=job, exit_code=255)
    evaluate_and_store(old, now=timezone.now())
    finding = Finding.objects.get(kind="backup_failed")

    BackupJob.objects.filter(pk=job.pk).update(target=new)
    evaluate_and_store(new, now=timezone.now())

    moved = Finding.objects.get(kind="backup_failed")
    assert moved.pk == finding.pk and moved.scope == f"host:{new.pk}"
    assert moved.first_seen_at == finding.first_seen_at
    assert BackupRun.objects.count() == 1


# --- a moved pf state count ---------------------------------------------------------------


def test_a_moved_pf_state_count_is_judged_only_when_it_can_change_a_cluster_finding():
    _, fw1a, fw1b = firewall_pair("fw1", states=(12000, 11950))
    evaluate_and_store(fw1a, now=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        assert not pf_states_need_judging(fw1a, 12100)  # the tables still agree
    assert len(queries) == 1
    assert pf_states_need_judging(fw1a, 20000)  # they diverge now

    HostFacts.objects.filter(host=fw1a).update(pf_states=20000)
    evaluate_and_store(fw1a, now=timezone.now())
    assert Finding.objects.filter(kind="state_tables_diverged").exists()
    # An open divergence states the counts: judged with each new one, until it clears.
    assert pf_states_need_judging(fw1a, 12000)
    assert pf_states_need_judging(fw1b, 11900)


def test_a_moved_pf_state_count_of_a_host_in_no_cluster_is_never_judged():
    standalone = FreshHostFactory(roles=["firewall"])

    assert not pf_states_need_judging(standalone, 10**6)


def test_backup_jobs_are_judged_only_on_a_storage_host_which_polls_them():
    target = FreshHostFactory(roles=["web"])  # lost its storage role: its jobs are not polled
    BackupRunFactory(job=BackupJobFactory(target=target), exit_code=255)

    evaluate_and_store(target, now=timezone.now())

    assert not Finding.objects.filter(kind="backup_failed").exists()
