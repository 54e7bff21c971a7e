"""Provisioning on the operations engine, without SSH: the plans the jail kinds make, the
idempotent re-plan, and the customer's words for each operation state."""

import pytest

from customers.models import JailRequest
from operations import services
from operations.models import Operation, OperationStep
from portal import jail_requests, provisioning
from tests.dashboard.factories import JailFactory

pytestmark = pytest.mark.django_db


def twin_request(world, customer_a, user):
    data = {
        "purpose": "twin",
        "twin_of": world.a_shop,
        "hostname": "staging.shop.a.example",
        "size_gb": 5,
        "template": "",
        "ip": "",
        "affinity": "same",
        "name": "",
    }
    return jail_requests.create(customer_a, user, data)


def test_a_twin_is_snapshot_clone_config_start_each_with_its_undo(
    world, customer_a, customer_a_user, noc_user
):
    req = jail_requests.approve(twin_request(world, customer_a, customer_a_user).pk, noc_user)

    op = Operation.objects.get(pk=req.operation_id)
    steps = {s["key"]: s for s in op.plan}
    assert [s["key"] for s in op.plan] == ["snapshot", "dataset", "config", "start"]
    assert steps["snapshot"]["argv"] == ["zfs", "snapshot", "zroot/jails/shop@twin-staging"]
    assert steps["dataset"]["argv"] == [
        "zfs",
        "clone",
        "-o",
        "quota=5G",
        "zroot/jails/shop@twin-staging",
        "zroot/jails/staging",
    ]
    assert steps["config"]["argv"] == ["cat", ">", "/etc/jail.conf.d/staging.conf"]
    assert 'ip4.addr = "198.51.100.10";' in steps["config"]["stdin"]
    assert 'host.hostname = "staging.shop.a.example";' in steps["config"]["stdin"]
    assert 'path = "/jails/staging";' in steps["config"]["stdin"]  # beside the source's root
    assert steps["start"]["argv"] == ["service", "jail", "start", "staging"]
    assert [steps[k]["rollback"]["argv"] for k in ("snapshot", "dataset", "config", "start")] == [
        ["zfs", "destroy", "zroot/jails/shop@twin-staging"],
        ["zfs", "destroy", "-r", "zroot/jails/staging"],
        ["rm", "-f", "/etc/jail.conf.d/staging.conf"],
        ["service", "jail", "stop", "staging"],
    ]


def test_a_fresh_jail_is_cloned_from_its_release_template(
    world, customer_a, customer_a_user, noc_user
):
    data = {
        "purpose": "production",
        "twin_of": None,
        "hostname": "api.a.example",
        "size_gb": 8,
        "template": "14.1-RELEASE",
        "ip": "",
        "affinity": "any",
        "name": "",
    }
    req = jail_requests.approve(
        jail_requests.create(customer_a, customer_a_user, data).pk, noc_user
    )

    plan = Operation.objects.get(pk=req.operation_id).plan

    assert plan[0]["argv"] == [
        "zfs",
        "clone",
        "-o",
        "quota=8G",
        "zroot/templates/14.1-RELEASE@base",
        "zroot/jails/api",
    ]


def test_re_planning_an_existing_jail_only_verifies_it(world, noc_user):
    JailFactory(host=world.a_host2, name="api", ipv4=["198.51.100.10"], running=True)

    op = services.request_operation(
        "jail-create",
        "jh-a2",
        {"name": "api", "hostname": "api.a.example", "ip": "198.51.100.10", "size_gb": 5},
        by=noc_user,
    )

    assert [(s["key"], s["script"]) for s in op.plan] == [("verify", "")]


def test_a_different_jail_with_the_name_refuses_the_plan(world, noc_user):
    JailFactory(host=world.a_host2, name="api", ipv4=["198.51.100.13"], running=True)

    with pytest.raises(services.PlanRefused, match="another jail named api exists on jh-a2"):
        services.request_operation(
            "jail-create",
            "jh-a2",
            {"name": "api", "hostname": "api.a.example", "ip": "198.51.100.10", "size_gb": 5},
            by=noc_user,
        )


@pytest.mark.parametrize(
    ("op_state", "steps_done", "status", "words"),
    [
        ("approved", 0, "approved", "Next in line for setup."),
        (
            "running",
            2,
            "provisioning",
            "Being set up: step 3 of 4: write /etc/jail.conf.d/staging.conf.",
        ),
        ("succeeded", 4, "ready", "Your jail is running."),
        ("rolled_back", 1, "failed", "was undone cleanly"),
        ("needs_attention", 2, "failed", "needs our NOC's attention"),
    ],
)
def test_the_request_follows_its_operation_in_customer_words(
    world, customer_a, customer_a_user, noc_user, op_state, steps_done, status, words
):
    req = jail_requests.approve(twin_request(world, customer_a, customer_a_user).pk, noc_user)
    op = Operation.objects.get(pk=req.operation_id)
    for i, spec in enumerate(op.plan):
        OperationStep.objects.create(
            operation=op,
            position=i + 1,
            key=spec["key"],
            title=spec["title"],
            spec=spec,
            state="done" if i < steps_done else "pending",
        )
    Operation.objects.filter(pk=op.pk).update(state=op_state)

    provisioning.sync_requests()
    provisioning.sync_requests()  # a second sweep changes nothing

    req = JailRequest.objects.get(pk=req.pk)
    assert req.status == status and words in req.status_text
    assert "Traceback" not in req.status_text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"hostname": "x.example;reboot"}, "hostname"),
        ({"ip": "198.51.100.10/32 && halt"}, "ip"),
        ({"name": "Shop"}, "name"),
        ({"name": "a.b"}, "name"),
        ({"template": "zroot/t@base; rm -rf /"}, "template"),
    ],
)
def test_the_jail_kinds_refuse_unsafe_values_before_any_plan(world, noc_user, params, field):
    from django.core.exceptions import ValidationError

    good = {"name": "api", "hostname": "api.a.example", "ip": "198.51.100.10", "size_gb": 5}

    with pytest.raises(ValidationError) as refused:
        services.request_operation("jail-create", "jh-a2", {**good, **params}, by=noc_user)

    assert field in refused.value.message_dict
    assert not Operation.objects.exists()
