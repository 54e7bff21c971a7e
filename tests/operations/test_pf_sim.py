"""pf ruleset push with confirm-or-revert against the simulated fleet (RELIABILITY E5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditRecord
from hosts.models import HostFacts
from operations import engine, services
from operations.models import Operation

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pf_settings(settings, monkeypatch):
    settings.NYIOPS_PF_CONFIRM_SECONDS = 10
    settings.NYIOPS_PF_REVERT_MARGIN_SECONDS = 2
    monkeypatch.setattr(services, "_send", lambda pk: None)


def live_rules(fleet, host):
    return fleet.state(host)["pf"]["rules"]


def candidate(fleet, extra="pass in quick on igb1 proto tcp from any to any port 8080"):
    return fleet.state("fw1a")["files"]["/etc/pf.conf"] + extra + "\n"


def push(nora, sam, ruleset):
    op = services.request_operation("pf-push", "fw-pair-1", {"ruleset": ruleset}, by=nora)
    services.approve(op, by=sam)
    engine.run(op.pk)
    op.refresh_from_db()
    return op


def test_push_loads_backup_first_then_master_and_keeps_it_when_confirmed(
    polled_fleet, nora, sam, pf_settings
):
    text = candidate(polled_fleet)
    op = push(nora, sam, text)

    assert op.state == "verifying" and op.awaiting == "confirm", op.result
    assert "+pass in quick on igb1 proto tcp from any to any port 8080" in op.diff
    loads = [s.host.name for s in op.steps.filter(key__startswith="load@").order_by("position")]
    assert loads == ["fw1b", "fw1a"]  # fw1b is BACKUP on every vhid
    for fw in ("fw1a", "fw1b"):
        assert "pass in quick on igb1 proto tcp from any to any port 8080" in live_rules(
            polled_fleet, fw
        )

    services.answer(op, "confirm", by=sam)
    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    for fw in ("fw1a", "fw1b"):
        assert polled_fleet.state(fw)["files"]["/etc/pf.conf"] == text
    audited = AuditRecord.objects.get(action="operation.succeeded", target_id=str(op.pk))
    assert audited.after["params"]["ruleset"] == text  # short: audited whole


def test_syntax_error_is_loaded_nowhere(polled_fleet, nora, sam, pf_settings):
    before = {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")}
    op = push(nora, sam, candidate(polled_fleet, extra="pas in quick on igb1 all"))

    assert op.state == "failed"
    assert "/var/db/nyiops/pf.conf.new:" in op.result and "syntax error" in op.result
    assert {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")} == before
    assert not op.steps.filter(key__startswith="load@").exclude(state="pending").exists()


def test_unconfirmed_push_reverts_both_members(polled_fleet, nora, sam, pf_settings):
    hashes = dict(HostFacts.objects.values_list("host__name", "pf_ruleset_hash"))
    before = {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")}
    op = push(nora, sam, candidate(polled_fleet))
    assert op.awaiting == "confirm"

    Operation.objects.filter(pk=op.pk).update(
        awaiting_deadline=timezone.now() - timedelta(seconds=1)
    )
    engine.run(op.pk)  # the sweeper's re-dispatch after the deadline

    op.refresh_from_db()
    assert op.state == "rolled_back", op.result
    assert "nobody answered" in op.result
    assert {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")} == before
    now = dict(HostFacts.objects.values_list("host__name", "pf_ruleset_hash"))
    assert now["fw1a"] == hashes["fw1a"] and now["fw1b"] == hashes["fw1b"]


def test_ruleset_that_cuts_management_reverts_by_itself(polled_fleet, nora, sam, pf_settings):
    before = {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")}
    polled_fleet.inject("fw1b", "pf-cuts-management")

    op = push(nora, sam, candidate(polled_fleet))

    assert op.state == "rolled_back", op.result
    assert "management access lost" in op.result
    assert {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")} == before
    # The MASTER was never touched.
    assert not op.steps.filter(key="load@fw1a").exclude(state="pending").exists()


def test_a_second_operation_on_the_busy_pair_is_refused_naming_who_holds_it(
    polled_fleet, nora, sam, pf_settings
):
    op = push(nora, sam, candidate(polled_fleet))
    assert op.awaiting == "confirm"  # parked: its locks are held while a person checks

    with pytest.raises(services.PlanRefused) as refused:
        services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1b"}, by=sam)

    assert f"pair busy: operation #{op.pk} (pf-push) by nora-noc since " in str(refused.value)


def test_a_load_failing_on_the_master_reverts_the_backup_too(polled_fleet, nora, sam, pf_settings):
    before = {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")}
    polled_fleet.inject(
        "fw1a",
        "fail-command",
        "pfctl -f /var/db/nyiops/pf.conf.new",
        "pfctl: DIOCADDRULENV: Invalid argument",
    )

    op = push(nora, sam, candidate(polled_fleet))

    assert op.state == "rolled_back", op.result
    assert "Load the candidate on fw1a failed on fw1a: pfctl: DIOCADDRULENV" in op.result
    assert {fw: live_rules(polled_fleet, fw) for fw in ("fw1a", "fw1b")} == before
    undone = [s.key for s in op.steps.filter(phase="rollback").order_by("position")]
    assert undone == ["disarm@fw1a", "restore@fw1b", "disarm@fw1b"]
