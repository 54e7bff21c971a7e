"""Customers start, stop and restart their own jails through the engine: audited, rate
limited, and never another customer's jail."""

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from operations.models import Operation
from portal import self_service

pytestmark = pytest.mark.django_db


def test_a_customer_stops_their_own_jail_as_an_audited_operation(client, world, customer_a_user):
    client.force_login(customer_a_user)

    response = client.post(
        reverse("customers:jail-action", args=[world.a_shop.pk]), {"action": "stop"}
    )

    op = Operation.objects.get()
    assert response.status_code == 302
    assert (op.kind, op.state, op.requested_by, op.approved_by) == (
        "jail-stop",
        "approved",
        customer_a_user,
        customer_a_user,
    )
    assert op.plan[0]["argv"] == ["service", "jail", "stop", "shop"]
    assert AuditRecord.objects.filter(action="jail.stop", target_id=str(world.a_shop.pk)).exists()


def test_an_unknown_verb_is_refused(client, world, customer_a_user):
    client.force_login(customer_a_user)

    response = client.post(
        reverse("customers:jail-action", args=[world.a_shop.pk]), {"action": "destroy"}, follow=True
    )

    assert "is not something you can do" in response.content.decode()
    assert not Operation.objects.exists()


def test_self_service_is_rate_limited_per_customer(world, customer_a_user, monkeypatch):
    monkeypatch.setattr(self_service, "RATE_LIMIT", 2)
    self_service.jail_action(customer_a_user, world.a_shop, "restart")
    Operation.objects.update(state="succeeded")  # the host lock is free again
    self_service.jail_action(customer_a_user, world.a_shop, "restart")
    Operation.objects.update(state="succeeded")

    with pytest.raises(self_service.NotAllowed, match="At most 2 jail actions"):
        self_service.jail_action(customer_a_user, world.a_shop, "restart")

    assert Operation.objects.count() == 2


def test_the_service_refuses_another_customers_jail_even_if_handed_one(world, customer_a_user):
    with pytest.raises(self_service.NotAllowed, match="Not your jail"):
        self_service.jail_action(customer_a_user, world.b_jail, "stop")

    assert not Operation.objects.exists()


def test_destroy_is_asked_of_the_noc_after_typing_the_name(client, world, customer_a_user):
    client.force_login(customer_a_user)
    url = reverse("customers:jail-destroy", args=[world.a_shop.pk])

    wrong = client.post(url, {"confirm": "shop2"})
    assert wrong.status_code == 400 and not Operation.objects.exists()

    client.post(url, {"confirm": "shop"})

    op = Operation.objects.get()
    assert (op.kind, op.state, op.requested_by, op.approved_by) == (
        "jail-destroy",
        "planned",
        customer_a_user,
        None,
    )  # waits for a NOC user to approve it
    assert AuditRecord.objects.filter(action="jail.destroy_requested").exists()


def test_resize_of_a_requested_jail_is_asked_of_the_noc(client, world, customer_a, customer_a_user):
    from customers.models import JailRequest
    from tests.dashboard.factories import JailFactory

    jail = JailFactory(host=world.a_host2, name="api", ipv4=["198.51.100.10"])
    JailRequest.objects.create(
        customer=customer_a,
        purpose="production",
        name="api",
        hostname="api.a.example",
        size_gb=10,
        ip="198.51.100.10",
        host=world.a_host2,
        status="ready",
    )
    client.force_login(customer_a_user)
    url = reverse("customers:jail-resize", args=[jail.pk])

    too_big = client.post(url, {"size_gb": "500"})  # gold: 100 GiB a jail
    assert too_big.status_code == 400 and not Operation.objects.exists()

    client.post(url, {"size_gb": "20"})

    op = Operation.objects.get()
    assert (op.kind, op.state) == ("jail-resize", "planned")
    assert op.plan[0]["argv"] == ["zfs", "set", "quota=20G", "zroot/jails/api"]
    assert op.plan[0]["rollback"]["argv"] == ["zfs", "set", "quota=10G", "zroot/jails/api"]


def test_a_jail_nyiops_did_not_create_cannot_be_resized_here(client, world, customer_a_user):
    client.force_login(customer_a_user)

    response = client.post(
        reverse("customers:jail-resize", args=[world.a_shop.pk]), {"size_gb": "20"}
    )

    assert response.status_code == 400 and "quota is not known here" in response.content.decode()
    assert not Operation.objects.exists()


def test_a_finished_resize_updates_the_requests_size(world, customer_a):
    from django.utils import timezone

    from customers.models import JailRequest
    from portal import provisioning

    req = JailRequest.objects.create(
        customer=customer_a,
        purpose="production",
        name="api",
        hostname="api.a.example",
        size_gb=10,
        ip="198.51.100.10",
        host=world.a_host2,
        status="ready",
    )
    Operation.objects.create(
        kind="jail-resize",
        state="succeeded",
        host=world.a_host2,
        finished_at=timezone.now(),
        params={"name": "api", "size_gb": 20},
        requested_by_name="nora-noc",
    )

    provisioning.sync_requests()

    req.refresh_from_db()
    assert req.size_gb == 20
