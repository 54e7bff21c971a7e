"""CARP maintenance end to end against the simulated fleet over real SSH (RELIABILITY E3, E4)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Expectation, Notification
from audit.models import AuditRecord
from fleetsim.commands import power
from hosts.models import CarpVhid, HostFacts
from operations import engine, services
from operations.models import Operation
from tests.integration.conftest import poll

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


def states(host):
    return dict(CarpVhid.objects.present().filter(host__name=host).values_list("vhid", "state"))


def plan_and_approve(kind, target, requester, approver, **params):
    op = services.request_operation(kind, target, params, by=requester)
    services.approve(op, by=approver)
    return op


def test_carp_maintenance_moves_every_vhid_to_the_peer_and_persists(polled_fleet, nora, sam):
    op = plan_and_approve("carp-maintenance", "fw-pair-1", nora, sam, node="fw1a")

    result = engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "succeeded", (result, op.result)
    assert set(states("fw1b").values()) == {"MASTER"}
    assert set(states("fw1a").values()) == {"BACKUP"}
    assert HostFacts.objects.get(host__name="fw1a").carp_demotion == 240
    fs = polled_fleet.state("fw1a")
    assert "net.inet.carp.demotion=240" in str(fs.get("files", {}).get("/etc/sysctl.conf.local"))
    assert [s.key for s in op.steps.order_by("position")] == ["demote", "persist"]
    audit = AuditRecord.objects.filter(target_type="operations.operation", target_id=str(op.pk))
    finished = audit.get(action="operation.succeeded")
    assert [s["argv"] for s in finished.after["steps"]] == [
        ["sysctl", "net.inet.carp.demotion=240"],
        ["cat", ">", "/etc/sysctl.conf.local"],
    ]

    # The failover it caused is recorded as expected and pages nobody.
    failover = Alert.objects.get(dedup_key="preferred_master_is_backup:cluster:fw-pair-1")
    assert failover.expected and failover.suppressed
    assert failover.expected_reason.startswith(f"operation #{op.pk}")
    assert not Notification.objects.filter(alert=failover).exists()

    # The node stays demoted after the operation: its silence lasts until maintenance ends.
    demoted = Expectation.objects.get(dedup_key="carp_demoted:host:fw1a", owner=op.label)
    assert demoted.ends_at > timezone.now() + timedelta(hours=1)

    end = plan_and_approve("carp-maintenance-end", "fw-pair-1", nora, nora, node="fw1a")
    engine.run(end.pk)
    end.refresh_from_db()
    assert end.state == "succeeded", end.result
    demoted.refresh_from_db()
    assert demoted.ends_at <= timezone.now() + timedelta(minutes=6)  # the grace period
    assert set(states("fw1a").values()) == {"MASTER"}  # preempt on: the primary takes back
    assert HostFacts.objects.get(host__name="fw1a").carp_demotion == 0


def test_demoting_the_second_member_is_refused_before_any_command(polled_fleet, nora, sam):
    op = plan_and_approve("carp-maintenance", "fw-pair-1", nora, sam, node="fw1a")
    engine.run(op.pk)
    log_before = len(polled_fleet.fleet.exec_log) if hasattr(polled_fleet.fleet, "exec_log") else 0

    with pytest.raises(services.PlanRefused) as refused:
        services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1b"}, by=nora)

    assert "peer fw1a already demoted" in str(refused.value)
    assert Operation.objects.count() == 1
    assert AuditRecord.objects.filter(action="operation.refused").count() == 1
    if log_before:
        assert len(polled_fleet.fleet.exec_log) == log_before


def test_peer_refusing_master_rolls_the_demotion_back(polled_fleet, nora, sam):
    polled_fleet.inject("fw1b", "refuse-master", "2")
    op = plan_and_approve("carp-maintenance", "fw-pair-1", nora, sam, node="fw1a")

    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "rolled_back"
    assert "peer fw1b did not become MASTER on vhid 2" in op.result
    assert HostFacts.objects.get(host__name="fw1a").carp_demotion == 0
    assert states("fw1a") == {1: "MASTER", 2: "MASTER", 3: "MASTER"}
    keys = [(s.phase, s.key, s.state) for s in op.steps.order_by("position")]
    assert keys == [("forward", "demote", "failed"), ("rollback", "undemote", "done")] or keys[
        -1
    ] == ("rollback", "undemote", "done")


def test_a_node_rebooted_in_maintenance_stays_demoted_and_the_end_restores_it(
    polled_fleet, nora, sam
):
    op = plan_and_approve("carp-maintenance", "fw-pair-1", nora, sam, node="fw1a")
    engine.run(op.pk)
    op.refresh_from_db()
    assert op.state == "succeeded", op.result

    polled_fleet.inject("fw1a", "reboot")
    polled_fleet.advance(power.BOOT_SECONDS + 10)  # booted, pfsync's bulk update done
    # rc.d/sysctl re-applied /etc/sysctl.conf.local: still demoted by our 240 alone.
    assert polled_fleet.wait_for(
        lambda f: (
            f.state("fw1a")["up"] and f.state("fw1a")["sysctl"]["net.inet.carp.demotion"] == 240
        ),
        timeout=20,
    )
    poll("fw1a", "fw1b")
    assert set(states("fw1a").values()) == {"BACKUP"}  # it did not take the VIPs back

    end = plan_and_approve("carp-maintenance-end", "fw-pair-1", nora, nora, node="fw1a")
    engine.run(end.pk)
    end.refresh_from_db()
    assert end.state == "succeeded", end.result
    assert polled_fleet.state("fw1a")["sysctl"]["net.inet.carp.demotion"] == 0


def test_a_failing_second_step_rolls_the_demotion_back(polled_fleet, nora, sam):
    polled_fleet.inject(
        "fw1a", "fail-command", "cat > /etc/sysctl.conf.local", "sh: cannot create: No space left"
    )
    op = plan_and_approve("carp-maintenance", "fw-pair-1", nora, sam, node="fw1a")

    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "rolled_back", op.result
    assert "Keep fw1a demoted across a reboot failed on fw1a" in op.result
    assert polled_fleet.state("fw1a")["sysctl"]["net.inet.carp.demotion"] == 0
    assert states("fw1a") == {1: "MASTER", 2: "MASTER", 3: "MASTER"}
    assert [(s.phase, s.key, s.state) for s in op.steps.order_by("position")] == [
        ("forward", "demote", "done"),
        ("forward", "persist", "failed"),
        ("rollback", "undemote", "done"),
    ]
