"""Health rules, judged on plain values: no database, no clock."""

from datetime import UTC, datetime, timedelta

from hosts.health.backups import evaluate_backup
from hosts.health.carp import evaluate_cluster
from hosts.health.host import evaluate_host
from hosts.health.polls import evaluate_poll_stale
from hosts.health.state import (
    BackendView,
    BackupView,
    ClusterView,
    DeviceView,
    HostView,
    MirrorView,
    PoolView,
    VhidView,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def vhids(state, *numbers, skew=0, since=None):
    return tuple(
        VhidView(
            "em0", n, state, 1, skew, (f"198.51.100.{n}/24",), since if state == "MASTER" else None
        )
        for n in numbers
    )


def fw(name, hid, state="MASTER", numbers=(1, 2), **kw):
    defaults = dict(
        reachability="ok",
        carp_preempt=0,
        carp_demotion=0,
        pfsync_present=True,
        pfsync_syncok=1,
        pf_states=41210,
        pf_ruleset_hash="abc",
        roles=("firewall",),
    )
    defaults |= kw
    return HostView(
        id=hid,
        name=name,
        vhids=vhids(state, *numbers, since=kw.pop("since", None)),
        **{k: v for k, v in defaults.items() if k != "since"},
    )


def pair(a, b, kind="firewall"):
    return ClusterView(7, "fw-pair-1", kind, ((a, "primary"), (b, "backup")))


def kinds(findings):
    return sorted(f.kind for f in findings)


def test_healthy_pair_has_no_findings():
    assert (
        evaluate_cluster(pair(fw("fw1a", 1), fw("fw1b", 2, "BACKUP", pf_states=41198)), NOW) == []
    )


def test_two_masters_on_a_vhid_is_split_brain():
    findings = evaluate_cluster(pair(fw("fw1a", 1), fw("fw1b", 2)), NOW)

    split = [f for f in findings if f.kind == "split_brain"]
    assert len(split) == 1 and split[0].severity == "critical"
    assert split[0].details == {"vhids": [1, 2], "masters": ["fw1a", "fw1b"]}
    assert split[0].dedup_key == "split_brain:cluster:fw-pair-1"


def test_no_master_when_both_members_are_backup():
    findings = evaluate_cluster(pair(fw("fw1a", 1, "BACKUP"), fw("fw1b", 2, "BACKUP")), NOW)

    assert "no_master" in kinds(findings)


def test_failover_message_names_new_master_old_master_time_and_state_tables():
    at = datetime(2026, 11, 27, 12, 3, 4, tzinfo=UTC)
    down = fw("fw1a", 1, "BACKUP", reachability="unknown")
    up = HostView(
        **{**fw("fw1b", 2, pf_states=41198).__dict__, "vhids": vhids("MASTER", 1, 2, since=at)}
    )

    failover = [
        f for f in evaluate_cluster(pair(down, up), NOW) if f.kind == "preferred_master_is_backup"
    ]

    assert len(failover) == 1
    assert failover[0].message.startswith(
        "fw-pair-1: fw1b became MASTER for vhid 1, 2 (was fw1a) at 12:03:04"
    )
    assert "state tables 41,210 / 41,198" in failover[0].message
    assert failover[0].details["vhids"] == [1, 2] and failover[0].details["new_master"] == "fw1b"


def test_mixed_master_only_matters_with_preempt_on():
    a = HostView(
        **{
            **fw("fw1a", 1, carp_preempt=1).__dict__,
            "vhids": vhids("MASTER", 1) + vhids("BACKUP", 2),
        }
    )
    b = HostView(
        **{
            **fw("fw1b", 2, carp_preempt=1).__dict__,
            "vhids": vhids("BACKUP", 1) + vhids("MASTER", 2),
        }
    )

    assert "mixed_master" in kinds(evaluate_cluster(pair(a, b), NOW))
    off = [HostView(**{**h.__dict__, "carp_preempt": 0}) for h in (a, b)]
    assert "mixed_master" not in kinds(evaluate_cluster(pair(*off), NOW))


def test_pfsync_not_in_sync_means_a_failover_drops_connections():
    findings = evaluate_cluster(pair(fw("fw1a", 1), fw("fw1b", 2, "BACKUP", pfsync_syncok=0)), NOW)

    pfsync = [f for f in findings if f.kind == "pfsync_down"]
    assert pfsync and "pfsync not in sync on fw1b" in pfsync[0].message


def test_state_tables_diverge_beyond_the_share():
    findings = evaluate_cluster(pair(fw("fw1a", 1), fw("fw1b", 2, "BACKUP", pf_states=20000)), NOW)

    assert "state_tables_diverged" in kinds(findings)


def test_config_drift_lists_each_difference():
    b = HostView(
        **{**fw("fw1b", 2, "BACKUP", pf_ruleset_hash="zzz").__dict__, "vhids": vhids("BACKUP", 1)}
    )

    drift = [
        f for f in evaluate_cluster(pair(fw("fw1a", 1), b), NOW) if f.kind == "pair_config_drift"
    ]

    assert drift
    assert any(d.startswith("vhids") for d in drift[0].details["differences"])
    assert any(d.startswith("pf ruleset") for d in drift[0].details["differences"])


def host(**kw):
    return HostView(**{"id": 1, "name": "nas1", "reachability": "ok"} | kw)


def test_rebuilding_mirror_is_a_warning_and_a_broken_one_critical():
    rebuilding = MirrorView(
        "gm0", "DEGRADED", (("ada0", "ACTIVE", None), ("ada1", "SYNCHRONIZING", 64))
    )
    broken = MirrorView("gm1", "DEGRADED", (("ada2", "ACTIVE", None),))

    found = {f.subject: f for f in evaluate_host(host(mirrors=(rebuilding, broken)), NOW)}

    assert (
        found["nas1 mirror/gm0"].severity == "warning"
        and "ada1 64%" in found["nas1 mirror/gm0"].message
    )
    assert found["nas1 mirror/gm1"].severity == "critical"


def test_device_errors_are_found_in_an_online_pool():
    pool = PoolView(
        "tank",
        "ONLINE",
        40,
        "scrub",
        "finished",
        100.0,
        NOW - timedelta(days=1),
        (
            DeviceView("tank", "ONLINE", 0, 0, 0, depth=0),
            DeviceView("mirror-0", "ONLINE", 0, 0, 0, depth=1),
            DeviceView("ada1", "ONLINE", 0, 0, 12, depth=2),
        ),
    )

    findings = evaluate_host(host(pools=(pool,)), NOW)

    assert kinds(findings) == ["device_errors"]
    assert findings[0].details == {"devices": ["ada1"]}


def test_degraded_pool_is_a_warning_and_faulted_critical():
    degraded = PoolView("tank", "DEGRADED", 10, "resilver", "in_progress", 82.04, None, ())
    faulted = PoolView("data", "FAULTED", None, "", "", None, None, ())

    found = {f.kind: f for f in evaluate_host(host(pools=(degraded, faulted)), NOW)}

    assert (
        found["pool_degraded"].severity == "warning"
        and "resilvering 82.0%" in found["pool_degraded"].message
    )
    assert found["pool_faulted"].severity == "critical"


def test_capacity_thresholds_and_overdue_scrub():
    pool = PoolView("tank", "ONLINE", 91, "scrub", "finished", 100.0, NOW - timedelta(days=60), ())

    found = {f.kind: f for f in evaluate_host(host(pools=(pool,)), NOW)}

    assert found["pool_capacity"].severity == "critical"
    assert "scrub_overdue" in found


def test_down_members_and_backend_capacity():
    backend = BackendView(
        "web", "UP", (("web1", "UP"), ("web2", "DOWN"), ("web3", "DOWN"), ("web4", "MAINT"))
    )

    found = {f.kind: f for f in evaluate_host(host(backends=(backend,)), NOW)}

    assert found["member_down"].details["servers"] == ["web2", "web3"]
    assert found["backend_capacity"].severity == "warning"
    assert "1/4 servers UP (needs 2)" in found["backend_capacity"].message


def test_unreachable_host_keeps_being_judged_on_its_last_data():
    view = host(
        reachability="unknown",
        reason="connection refused",
        mirrors=(MirrorView("gm0", "DEGRADED", (("ada0", "ACTIVE", None),)),),
        last_success_at=NOW - timedelta(minutes=3),
    )

    found = {f.kind: f for f in evaluate_host(view, NOW)}

    assert (
        found["host_unreachable"].message
        == "nas1 unreachable: connection refused (last good data 3 min ago)"
    )
    assert "mirror_degraded" in found


def test_unreadable_subsystem_is_a_parse_error_finding():
    findings = evaluate_host(host(subsystem_errors={"zpool": "unreadable output"}), NOW)

    assert [(f.kind, f.dedup_key) for f in findings] == [
        ("parse_error", "parse_error:host:nas1:zpool")
    ]


def backup(**kw):
    base = dict(
        id=1,
        name="acme-web1",
        source_id=2,
        source="web1",
        target_id=1,
        schedule_minutes=1440,
        created_hint=NOW - timedelta(days=10),
        last_exit_code=0,
        last_finished_at=NOW - timedelta(hours=3),
        last_error="",
        last_snapshot_verified=True,
        last_success_at=NOW - timedelta(hours=3),
    )
    return BackupView(**base | kw)


def test_backup_failures_are_classified_by_rsync_exit_code():
    assert evaluate_backup(backup(), NOW) == []
    assert evaluate_backup(backup(last_exit_code=24), NOW)[0].severity == "warning"
    assert evaluate_backup(backup(last_exit_code=23), NOW)[0].severity == "warning"
    unreachable = evaluate_backup(backup(last_exit_code=255), NOW)[0]
    assert unreachable.severity == "critical" and "source unreachable" in unreachable.message


def test_backup_without_its_snapshot_is_not_good():
    findings = evaluate_backup(backup(last_snapshot_verified=False), NOW)

    assert findings[0].kind == "backup_failed" and "snapshot is missing" in findings[0].message


def test_backup_is_stale_after_one_and_a_half_schedules():
    assert evaluate_backup(backup(last_success_at=NOW - timedelta(hours=35)), NOW) == []
    stale = evaluate_backup(backup(last_success_at=NOW - timedelta(hours=37)), NOW)
    assert [f.kind for f in stale] == ["backup_stale"]


def test_poll_is_stale_after_three_intervals():
    view = HostView(id=1, name="fw1a", reachability="ok")

    assert evaluate_poll_stale(view, NOW - timedelta(seconds=40), 15, NOW) == []
    assert evaluate_poll_stale(view, NOW - timedelta(seconds=50), 15, NOW)[0].kind == "poll_stale"
