"""Bad input and faults around an operation: broker down, changed host key, a drain that
does not finish in time, a connection dropped right after a command."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from hosts.models import Host
from hosts.ssh import generate_client_key
from operations import engine, services
from operations.models import Operation

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


def test_an_operation_approved_while_the_broker_is_down_is_dispatched_after_recovery(
    polled_fleet, nora, sam, monkeypatch
):
    def broker_down(pk):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(services, "_send", broker_down)
    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    services.approve(op, by=sam)  # no exception reaches the person approving
    op.refresh_from_db()
    assert op.state == "approved" and op.dispatched_at is None

    sent = []
    monkeypatch.setattr(services, "_send", sent.append)
    assert services.redispatch_undelivered() == 1
    assert sent == [op.pk]
    op.refresh_from_db()
    assert op.dispatched_at is not None
    assert services.redispatch_undelivered() == 0  # not twice


def test_a_changed_host_key_stops_the_operation_before_any_command(polled_fleet, nora, sam):
    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    services.approve(op, by=sam)
    _, public = generate_client_key()  # some other ed25519 key pinned for fw1a
    Host.objects.filter(name="fw1a").update(host_key_base64=public.split()[1])

    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "failed"
    assert "host_key_changed" in op.result or "host key changed" in op.result
    assert not op.steps.exists()
    assert polled_fleet.state("fw1a")["sysctl"]["net.inet.carp.demotion"] == 0


def test_a_drain_past_its_deadline_asks_a_person_then_aborts_cleanly(
    polled_fleet, nora, settings, monkeypatch
):
    settings.NYIOPS_DRAIN_WAIT_SECONDS = 0  # sessions never reach 0 in no time
    monkeypatch.setattr(services, "_send", lambda pk: None)
    op = services.request_operation("haproxy-drain", "acme-web/web1", {}, by=nora)
    services.approve(op, by=nora)
    # web1 carries sessions in the demo fleet; with no time to decay, a person must choose.
    engine.run(op.pk)
    op.refresh_from_db()
    if op.state == "succeeded":
        pytest.skip("web1 had no sessions at this instant in the simulated fleet")
    assert op.awaiting == "decide" and "still has sessions" in op.awaiting_prompt

    services.answer(op, "abort", by=nora)
    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "rolled_back", op.result
    for lb in ("lb1a", "lb1b"):
        servers = polled_fleet.state(lb)["haproxy"]["backends"][0]["servers"]
        web1 = next(s for s in servers if s["name"] == "web1")
        assert web1["admin"] & 0x09 == 0  # READY again: a failed drain leaves none out


def test_connection_that_keeps_dropping_after_a_command_stops_in_needs_attention(
    polled_fleet, nora, sam, monkeypatch
):
    monkeypatch.setattr(services, "_send", lambda pk: None)
    polled_fleet.inject("fw1b", "drop-after-command", "mkdir -p /var/db/nyiops")
    ruleset = polled_fleet.state("fw1a")["files"]["/etc/pf.conf"]
    op = services.request_operation("pf-push", "fw-pair-1", {"ruleset": ruleset}, by=nora)
    services.approve(op, by=sam)

    engine.run(op.pk)

    # An idempotent step is sent once more after a drop; dropping again, a person looks.
    op.refresh_from_db()
    assert op.state == "needs_attention"
    assert "session closed before the command reported an exit status" in op.result
    assert list(op.events.values_list("kind", flat=True)).count("step-error") == 2
    assert not op.steps.filter(key__startswith="load@").exclude(state="pending").exists()


def test_nothing_is_half_written_when_approval_fails(polled_fleet, nora):
    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    with pytest.raises(services.OperationError, match="second person"), transaction.atomic():
        services.approve(op, by=nora)
    assert Operation.objects.get(pk=op.pk).state == "planned"


def test_a_plan_on_stale_data_is_refused(polled_fleet, nora):
    Host.objects.filter(name="fw1b").update(last_success_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(services.PlanRefused, match=r"fw1b data is stale \(30\d s old\)"):
        services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    assert not Operation.objects.exists()
