# ruff: noqa: F811 - pytest fixtures imported from the integration and operations conftests
"""Jail provisioning end to end on the simulated fleet over real SSH (RELIABILITY E7).

A customer's twin request is approved by the NOC; the engine snapshots, clones, configures
and starts the jail on fleetsim; the request reads "ready" and the portal's jails widget
shows the jail running. A step that fails rolls the done steps back in reverse; re-running
the same request finds the existing jail and creates no second one.
"""

import pytest
from django.urls import reverse

from customers.models import JailRequest, Membership
from hosts.models import Jail
from nyiops.roles import CUSTOMER
from operations import engine
from operations.models import Operation
from portal import jail_requests, provisioning
from tests.conftest import _user_in
from tests.integration.conftest import fleet, poll, ssh_timeouts  # noqa: F401 - fixtures
from tests.operations.conftest import fast_ops, nora, polled_fleet  # noqa: F401 - fixtures

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def initech(polled_fleet):
    from customers.models import Customer

    user = _user_in(CUSTOMER, username="ivy-initech", email="ivy@initech.example")
    customer = Customer.objects.get(slug="initech")
    Membership.objects.create(user=user, customer=customer)
    return customer, user


def ask_for_twin(customer, user, name="preview"):
    source = Jail.objects.present().get(host__name="app1", name="shop-production")
    data = {
        "purpose": "twin",
        "twin_of": source,
        "hostname": f"{name}.shop.initech.example",
        "name": name,
        "size_gb": 5,
        "template": "",
        "ip": "",
        "affinity": "any",
    }
    return jail_requests.create(customer, user, data)


def approve_and_run(req, noc):
    req = jail_requests.approve(req.pk, noc)
    result = engine.run(req.operation_id)
    provisioning.sync_requests()
    return JailRequest.objects.get(pk=req.pk), Operation.objects.get(pk=req.operation_id), result


def sim_jails(fleet, host):
    return {j["name"]: j for j in fleet.state(host)["jails"]}


def test_an_approved_twin_is_created_on_the_host_and_shows_running(
    polled_fleet, initech, nora, client
):
    customer, user = initech
    req = ask_for_twin(customer, user)

    req, op, result = approve_and_run(req, nora)

    assert op.state == "succeeded", (result, op.result)
    assert (req.status, req.status_text) == ("ready", "Your jail is running.")
    jail = sim_jails(polled_fleet, "app1")["preview"]
    assert jail["running"] and jail["ip4"].startswith("198.51.100.137")
    observed = Jail.objects.present().get(host__name="app1", name="preview")
    assert observed.running and observed.hostname == "preview.shop.initech.example"
    client.force_login(user)
    widget = client.get(reverse("customers:widget-jails"), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-jail="preview"' in widget and "running" in widget


def test_a_failing_step_rolls_back_the_done_steps_in_reverse(polled_fleet, initech, nora):
    """E7: the jail fails to start (step 4 of 4): the config, clone and snapshot are undone
    in that order, the request says so in plain words, and nothing is left on the host."""
    customer, user = initech
    polled_fleet.inject("app1", "fail-command", "service jail start", "jail: preview: failed")
    req = ask_for_twin(customer, user)

    req, op, result = approve_and_run(req, nora)

    assert op.state == "rolled_back", (result, op.result)
    undo = list(
        op.steps.filter(phase="rollback").order_by("position").values_list("argv", flat=True)
    )
    assert undo == [
        ["rm", "-f", "/etc/jail.conf.d/preview.conf"],
        ["zfs", "destroy", "-r", "zroot/jails/preview"],
        ["zfs", "destroy", "zroot/jails/shop-production@twin-preview"],
    ]
    assert req.status == "failed" and "undone cleanly" in req.status_text
    assert "Traceback" not in req.status_text and "jail:" not in req.status_text
    state = polled_fleet.state("app1")
    assert "preview" not in sim_jails(polled_fleet, "app1")
    assert "/etc/jail.conf.d/preview.conf" not in state.get("files", {})


def test_rerunning_the_same_request_finds_the_jail_and_creates_no_second(
    polled_fleet, initech, nora
):
    customer, user = initech
    req, op, _ = approve_and_run(ask_for_twin(customer, user), nora)
    assert op.state == "succeeded"

    again = provisioning.start(req, nora)
    engine.run(again)
    poll("app1")

    rerun = Operation.objects.get(pk=again)
    assert rerun.state == "succeeded"
    assert [s["key"] for s in rerun.plan] == ["verify"]
    assert [j for j in sim_jails(polled_fleet, "app1") if j == "preview"] == ["preview"]
    assert Jail.objects.present().filter(host__name="app1", name="preview").count() == 1


def test_destroy_needs_the_name_typed_and_keeps_a_final_snapshot(polled_fleet, initech, nora):
    from django.core.exceptions import ValidationError

    from operations import services

    customer, user = initech
    approve_and_run(ask_for_twin(customer, user), nora)
    with pytest.raises(ValidationError, match="Type the jail's name exactly"):
        services.request_operation(
            "jail-destroy", "app1", {"name": "preview", "confirm": "previe"}, by=nora
        )

    op = services.request_operation(
        "jail-destroy", "app1", {"name": "preview", "confirm": "preview"}, by=nora
    )
    services.approve(op, by=nora)
    engine.run(op.pk)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert not sim_jails(polled_fleet, "app1")["preview"]["running"]
    files = polled_fleet.state("app1").get("files", {})
    assert "/etc/jail.conf.d/preview.conf.destroyed" in files
    snapshots = [s[0] for s in polled_fleet.state("app1")["snapshots"]]
    assert any(s.startswith("zroot/jails/preview@final-") for s in snapshots)
