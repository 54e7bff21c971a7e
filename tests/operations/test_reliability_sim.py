"""Workers die, deliveries repeat, leases run out: the engine never runs a step twice and
never leaves half a pair demoted (RELIABILITY A3, A4, E2, E3, D9), over real SSH."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditRecord
from operations import engine, locks, services
from operations.models import Operation, OperationLock

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]

DEMOTE = "sysctl net.inet.carp.demotion=240"
PERSIST = "cat > /etc/sysctl.conf.local"


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the engine catches it, nothing after it runs."""


def approved_maintenance(nora, sam, node="fw1a"):
    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": node}, by=nora)
    return services.approve(op, by=sam)


def demotion(fleet, host):
    return fleet.state(host)["sysctl"]["net.inet.carp.demotion"]


def expire_leases():
    past = timezone.now() - timedelta(seconds=1)
    Operation.objects.update(lease_until=past)
    OperationLock.objects.update(lease_until=past)


@pytest.fixture
def sends(monkeypatch):
    """Every command the engine sends, in order, with a hook to 'kill the worker'."""
    real = engine.send
    log = []
    plan = {"kill": None}

    def send(host, cmd, timeout):
        kill = plan["kill"]
        if kill and cmd.script == kill[0] and kill[1] == "before":
            plan["kill"] = None
            raise Killed()
        result = real(host, cmd, timeout)
        log.append((host.name, cmd.script))
        if kill and cmd.script == kill[0] and kill[1] == "after":
            plan["kill"] = None
            raise Killed()
        return result

    monkeypatch.setattr(engine, "send", send)
    return log, plan


@pytest.mark.parametrize(
    ("script", "when"),
    [(DEMOTE, "before"), (DEMOTE, "after"), (PERSIST, "before"), (PERSIST, "after")],
)
def test_worker_killed_at_each_step_resumes_without_running_a_step_twice(
    polled_fleet, nora, sam, sends, script, when
):
    log, plan = sends
    op = approved_maintenance(nora, sam)
    plan["kill"] = (script, when)

    with pytest.raises(Killed):
        engine.run(op.pk)
    op.refresh_from_db()
    assert op.state in ("running", "verifying")
    assert engine.run(op.pk).endswith("already running")  # the lease still holds

    expire_leases()
    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert demotion(polled_fleet, "fw1a") == 240  # never 480: demote ran exactly once
    assert demotion(polled_fleet, "fw1b") == 0
    assert [s for _, s in log].count(DEMOTE) == 1
    assert AuditRecord.objects.filter(action="operation.interrupted", target_id=str(op.pk)).exists()
    assert "interrupted" in set(op.events.values_list("kind", flat=True))
    assert not OperationLock.objects.exists()


def test_a_step_whose_effect_cannot_be_told_stops_in_needs_attention(
    polled_fleet, nora, sam, sends
):
    log, plan = sends
    op = approved_maintenance(nora, sam)
    plan["kill"] = (DEMOTE, "after")
    with pytest.raises(Killed):
        engine.run(op.pk)
    # Someone else demoted the node by hand meanwhile: 240 + 1 is neither before nor after.
    polled_fleet.call(
        lambda: polled_fleet.fleet.hosts["fw1a"]["sysctl"].update({"net.inet.carp.demotion": 241})
    )

    expire_leases()
    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "needs_attention"
    assert "cannot be determined" in op.result and "fw1a ok, demotion 241" in op.result
    assert [s for _, s in log].count(DEMOTE) == 1


def test_duplicate_delivery_runs_the_operation_once(polled_fleet, nora, sam, sends):
    log, _ = sends
    op = approved_maintenance(nora, sam)
    results = []

    def deliver():
        try:
            results.append(engine.run(op.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sum("another delivery" in r or "already" in r for r in results) == 1, results
    assert [s for _, s in log] == [DEMOTE, PERSIST]
    op.refresh_from_db()
    assert op.state == "succeeded"


def test_demoting_both_members_at_the_same_instant_lets_exactly_one_succeed(
    polled_fleet, nora, sam, sends
):
    log, _ = sends
    a = approved_maintenance(nora, sam, node="fw1a")
    b = approved_maintenance(nora, sam, node="fw1b")

    def deliver(pk):
        try:
            engine.run(pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(pk,)) for pk in (a.pk, b.pk)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    a.refresh_from_db(), b.refresh_from_db()
    assert sorted([a.state, b.state]) == ["failed", "succeeded"], (a.result, b.result)
    loser = a if a.state == "failed" else b
    assert "busy" in loser.result or "already demoted" in loser.result
    assert not loser.steps.filter(state__in=["done", "sending", "verifying"]).exists()
    assert [s for _, s in log].count(DEMOTE) == 1
    assert sorted([demotion(polled_fleet, "fw1a"), demotion(polled_fleet, "fw1b")]) == [0, 240]


def test_a_run_whose_lock_was_taken_over_is_fenced_before_its_next_write(
    polled_fleet, nora, sam, sends, monkeypatch
):
    _log, _ = sends
    op = approved_maintenance(nora, sam)
    real = engine.send
    intruder = {}

    def pause_past_lease(host, cmd, timeout):
        result = real(host, cmd, timeout)
        if cmd.script == DEMOTE and not intruder:
            # The run stalls past its lease; another operation takes the pair meanwhile.
            expire_leases()
            other = Operation.objects.create(
                kind="carp-maintenance-end",
                target_label="fw-pair-1",
                cluster=op.cluster,
                host=op.host,
                affected_host_ids=op.affected_host_ids,
                requested_by_name="sam-noc",
                state="running",
            )
            intruder["token"] = locks.acquire(other)
        return result

    monkeypatch.setattr(engine, "send", pause_past_lease)
    message = engine.run(op.pk)

    assert "fenced" in message
    op.refresh_from_db()
    demote = op.steps.get(key="demote")
    assert demote.state == "sending"  # its result write was refused
    assert not op.steps.filter(key="persist").exclude(state="pending").exists()
    assert set(OperationLock.objects.values_list("token", flat=True)) == {intruder["token"]}
    assert AuditRecord.objects.filter(action="operation.fenced", target_id=str(op.pk)).exists()


def test_every_operation_is_audited_with_argv_output_and_timestamps(polled_fleet, nora, sam):
    op = approved_maintenance(nora, sam)
    engine.run(op.pk)

    finished = AuditRecord.objects.get(action="operation.succeeded", target_id=str(op.pk))
    after = finished.after
    assert after["requested_by"] == "nora-noc" and after["approved_by_id"] == sam.pk
    for stamp in ("requested_at", "approved_at", "started_at", "finished_at"):
        assert after[stamp], stamp
    step = after["steps"][0]
    assert step["argv"] == ["sysctl", "net.inet.carp.demotion=240"]
    assert step["stdout"] == "net.inet.carp.demotion: 0 -> 240\n"
    assert step["exit_status"] == 0 and step["duration_ms"] is not None
    actions = list(
        AuditRecord.objects.filter(target_id=str(op.pk), target_type="operations.operation")
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )
    assert actions == ["operation.requested", "operation.approved", "operation.succeeded"]
    with pytest.raises(ValueError):
        finished.save()
    assert "PRIVATE KEY" not in str(after)


def test_worker_killed_before_any_step_was_written_starts_over(
    polled_fleet, nora, sam, sends, monkeypatch
):
    log, _ = sends
    op = approved_maintenance(nora, sam)
    real_refresh = engine.refresh

    def killed_while_polling(host_ids):
        raise Killed()

    monkeypatch.setattr(engine, "refresh", killed_while_polling)
    with pytest.raises(Killed):
        engine.run(op.pk)
    assert not op.steps.exists()

    monkeypatch.setattr(engine, "refresh", real_refresh)
    expire_leases()
    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert [s for _, s in log] == [DEMOTE, PERSIST]
