"""The poll pipeline against the simulated fleet, over real SSH on loopback."""

import pytest
from django.utils import timezone

from hosts.choices import Reachability
from hosts.inventory.services import approve_host_key
from hosts.models import (
    BackupRun,
    CarpVhid,
    Finding,
    HaproxyServer,
    Host,
    Jail,
    Mirror,
    PollRun,
    StatusEvent,
    ZPool,
)
from hosts.tasks import claim_due_hosts, sweep_poll_health
from hosts.tasks import poll_host as poll_task
from tests.integration.conftest import poll, poll_all

pytestmark = [pytest.mark.sim, pytest.mark.django_db]


def findings(kind, **filters):
    return list(Finding.objects.filter(kind=kind, **filters))


def masters(fleet, host):
    return {e["vhid"] for e in fleet.state(host)["carp"] if e["state"] == "MASTER"}


def test_discovers_everything_in_the_demo_fleet(fleet):
    outcomes = poll_all()

    assert all(o.reachability == "ok" for o in outcomes.values()), outcomes
    assert set(CarpVhid.objects.filter(host__name="fw1a").values_list("vhid", "state")) == {
        (1, "MASTER"),
        (2, "MASTER"),
        (3, "MASTER"),
    }
    assert set(CarpVhid.objects.filter(host__name="fw1b").values_list("state", flat=True)) == {
        "BACKUP"
    }
    assert CarpVhid.objects.get(host__name="fw1a", vhid=2).vips == ["198.51.100.10/26"]
    # The DNS jail-host pair holds its VIPs with CARP too.
    assert set(CarpVhid.objects.filter(host__name="jh1a").values_list("vhid", flat=True)) == {
        30,
        31,
        32,
    }
    for host in Host.objects.all():
        assert Mirror.objects.filter(host=host).exists(), f"{host} has no mirror"
        assert ZPool.objects.filter(host=host).exists(), f"{host} has no pool"
    assert set(Jail.objects.filter(host__name="jh1a").values_list("name", flat=True)) == {
        "resolver",
        "auth-customers",
        "auth-internal",
    }
    assert Jail.objects.get(host__name="iweb1", name="legacy").running is False
    assert HaproxyServer.objects.get(
        backend__host__name="lb2a", backend__name="globex-app", name="gweb2"
    ).status.startswith("DOWN")
    assert BackupRun.objects.filter(job__name="acme-web1", exit_code=0).exists()
    assert Host.objects.get(name="fw1a").facts.pfsync_syncok == 1
    # The demo's deliberate faults, each found, and nothing else critical.
    kinds = set(Finding.objects.values_list("kind", flat=True))
    assert {
        "backup_failed",
        "backup_stale",
        "device_errors",
        "jail_not_running",
        "member_down",
        "mirror_degraded",
        "pool_capacity",
    } <= kinds
    assert not Finding.objects.filter(severity="critical").exists()


def test_polling_twice_without_change_appends_no_events(fleet):
    poll("fw1a", "nas2")
    events = StatusEvent.objects.count()

    poll("fw1a", "nas2")

    assert StatusEvent.objects.count() == events


def test_failover_records_carp_events_and_the_failover_finding(fleet):
    poll("fw1a", "fw1b")

    fleet.inject("fw1a", "down")
    assert fleet.wait_for(lambda f: masters(f, "fw1b") == {1, 2, 3}, timeout=6)
    poll("fw1a", "fw1b")

    assert (
        StatusEvent.objects.filter(
            host__name="fw1b", subject_type="carp", field="state", old="BACKUP", new="MASTER"
        ).count()
        == 3
    )
    unreachable = findings("host_unreachable", host__name="fw1a")
    assert unreachable and "connection refused" in unreachable[0].message
    failover = findings("preferred_master_is_backup", cluster__name="fw-pair-1")
    assert failover
    assert failover[0].message.startswith(
        "fw-pair-1: fw1b became MASTER for vhid 1, 2, 3 (was fw1a) at "
    )
    assert fleet.wait_for(lambda f: True)  # fleet still answering

    fleet.heal("fw1a")
    # preempt is on in fw-pair-1: fw1a takes MASTER back after its pfsync bulk update.
    assert fleet.wait_for(lambda f: masters(f, "fw1a") == {1, 2, 3}, timeout=10)
    poll("fw1a", "fw1b")
    assert not findings("host_unreachable")
    assert not findings("preferred_master_is_backup", cluster__name="fw-pair-1")


def test_split_brain_is_found_across_both_members_and_clears(fleet):
    fleet.inject("fw-pair-2", "split-brain")
    assert fleet.wait_for(lambda f: masters(f, "fw2b") == {10, 11, 12, 13}, timeout=6)

    poll("fw2a", "fw2b")

    split = findings("split_brain", cluster__name="fw-pair-2")
    assert split and split[0].severity == "critical"
    assert split[0].details["vhids"] == [10, 11, 12, 13]

    fleet.heal("fw-pair-2")
    assert fleet.wait_for(lambda f: not (masters(f, "fw2a") & masters(f, "fw2b")), timeout=6)
    poll("fw2a", "fw2b")
    assert not findings("split_brain")


def test_disk_failure_degrades_the_mirror_and_its_rebuild_completes(fleet):
    poll("web1")
    fleet.inject("web1", "disk-fail", "ada1")
    poll("web1")

    mirror = Mirror.objects.get(host__name="web1", name="swap")
    assert mirror.state == "DEGRADED"
    degraded = findings("mirror_degraded", host__name="web1")
    assert degraded and degraded[0].severity == "critical"
    assert StatusEvent.objects.filter(
        subject="swap", field="state", old="COMPLETE", new="DEGRADED"
    ).exists()

    fleet.heal("web1", "disk-fail")
    poll("web1")
    assert findings("mirror_degraded", host__name="web1")[0].severity == "warning"  # rebuilding

    fleet.advance(3600)
    poll("web1")
    assert Mirror.objects.get(host__name="web1", name="swap").state == "COMPLETE"
    assert not findings("mirror_degraded", host__name="web1")


def test_backend_going_down_is_a_member_down_finding(fleet):
    poll("lb1a")
    fleet.inject("lb1a", "backend-down", "acme-web/web2")
    fleet.advance(30)

    poll("lb1a")

    down = findings("member_down", host__name="lb1a")
    assert down and down[0].details["servers"] == ["web2"]


def test_failed_backup_is_classified_by_its_exit_code(fleet):
    fleet.inject("nas1", "backup-fail", "acme-web2", "255")

    poll("nas1")

    failed = findings("backup_failed", dedup_key="backup_failed:job:acme-web2")
    assert failed and failed[0].severity == "critical"
    assert "source unreachable" in failed[0].message


def test_slow_host_times_out_without_delaying_others(fleet):
    fleet.inject("web2", "slow", "30")

    outcomes = poll("web2", "web1")

    assert outcomes["web2"].reachability == Reachability.UNKNOWN
    assert "timed out" in outcomes["web2"].reason or "within" in outcomes["web2"].reason
    assert outcomes["web1"].reachability == "ok"
    assert PollRun.objects.filter(host__name="web2").latest("started_at").status in (
        "timed_out",
        "failed",
    )


def test_changed_host_key_is_refused_then_approved(fleet):
    poll("web3")
    mirrors_before = Mirror.objects.filter(host__name="web3").count()
    fleet.inject("web3", "hostkey-change")

    outcome = poll("web3")["web3"]

    host = Host.objects.get(name="web3")
    assert outcome.reachability == Reachability.HOST_KEY_CHANGED
    assert host.offered_key_fingerprint.startswith("SHA256:")
    assert findings("host_key_changed", host=host)[0].severity == "critical"
    assert Mirror.objects.filter(host=host).count() == mirrors_before  # last good data kept

    approve_host_key(host, by=None, expected_fingerprint=host.offered_key_fingerprint)
    assert poll("web3")["web3"].reachability == "ok"
    assert not findings("host_key_changed")


def test_garbage_output_is_a_parse_error_and_the_rest_still_stores(fleet):
    poll("nas1")
    pools_before = set(ZPool.objects.filter(host__name="nas1").values_list("name", "health"))
    fleet.inject("nas1", "garbage", "zpool")
    fleet.inject("nas1", "disk-fail", "ada1")

    outcome = poll("nas1")["nas1"]

    assert "zpool" in outcome.subsystem_errors
    assert findings("parse_error", dedup_key="parse_error:host:nas1:zpool")
    # Pools keep their last good state; the mirror (gmirror output was fine) is updated.
    assert (
        set(ZPool.objects.filter(host__name="nas1").values_list("name", "health")) == pools_before
    )
    assert Mirror.objects.filter(host__name="nas1", state="DEGRADED").exists()

    fleet.heal("nas1", "garbage")
    poll("nas1")
    assert not findings("parse_error")


def test_duplicate_or_stale_poll_deliveries_do_nothing(fleet):
    Host.objects.update(next_poll_at=timezone.now())
    claims = dict(claim_due_hosts())
    host = Host.objects.get(name="fw1a")
    token = claims[host.pk]

    assert claim_due_hosts() == []  # claimed hosts are not claimed twice
    assert "stale claim" in poll_task(host.pk, "not-the-current-claim")
    poll_task(host.pk, token)
    events = StatusEvent.objects.count()
    poll_task(host.pk, token)  # redelivered after it ran: same claim, nothing new to store
    assert StatusEvent.objects.count() == events


def test_a_poll_lost_with_its_worker_is_recorded_once_and_the_host_reclaimed(fleet):
    host = Host.objects.get(name="fw1b")
    Host.objects.filter(pk=host.pk).update(next_poll_at=timezone.now())
    (claimed,) = [c for c in claim_due_hosts() if c[0] == host.pk]
    # The worker died mid-poll: the claim is never released and its lease runs out.
    stale = timezone.now() - timezone.timedelta(minutes=5)
    Host.objects.filter(pk=host.pk).update(poll_claimed_until=stale, next_poll_at=stale)

    sweep_poll_health()
    sweep_poll_health()
    reclaimed = [c for c in claim_due_hosts() if c[0] == host.pk]

    lost = PollRun.objects.filter(host=host, claim=claimed[1])
    assert [run.status for run in lost] == ["lost"]
    assert reclaimed and reclaimed[0][1] != claimed[1]
    assert "fw1b: ok" in poll_task(host.pk, reclaimed[0][1])
    assert Host.objects.get(pk=host.pk).poll_claimed_until is None
