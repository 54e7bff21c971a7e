"""Jail requests: every bad input refused with its field named and nothing created; the
database settles a race for the last address; nothing of another tenant gets in (D3)."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from audit.models import AuditRecord
from customers.models import JailRequest
from portal import jail_requests, placement
from tests.dashboard.factories import JailFactory

pytestmark = pytest.mark.django_db


def post(client, **data):
    form = {
        "purpose": "production",
        "hostname": "api.a.example",
        "size_gb": "10",
        "template": "",
        "ip": "",
        "affinity": "any",
        "send": "1",
        **data,
    }
    return client.post(reverse("customers:request-new"), form)


def field_errors(response) -> dict:
    form = response.context["form"]
    return {k: " ".join(v) for k, v in form.errors.items()}


def test_a_good_request_is_pending_with_its_preview(client, world, customer_a_user):
    client.force_login(customer_a_user)

    response = post(client)

    req = JailRequest.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "customers:request", args=[req.pk]
    )
    assert (req.name, req.ip, req.host, req.status) == (
        "api",
        "198.51.100.10",
        world.a_host2,
        "pending",
    )
    assert req.template == "14.1-RELEASE"
    assert req.preview["host"] == "jh-a2" and req.preview["key"]["ip"] == "198.51.100.10"
    assert AuditRecord.objects.filter(action="jail_request.create", target_id=str(req.pk)).exists()


def test_preview_button_shows_the_placement_and_creates_nothing(client, world, customer_a_user):
    client.force_login(customer_a_user)

    response = post(client, send="", preview="1")

    assert response.status_code == 200
    assert response.context["preview"].host == "jh-a2"
    assert "198.51.100.10" in response.content.decode()
    assert not JailRequest.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"hostname": "bad_host!.example"}, "hostname", "RFC 1123"),
        ({"hostname": "-lead.example"}, "hostname", "RFC 1123"),
        ({"hostname": "a" * 64 + ".example"}, "hostname", "RFC 1123"),
        ({"ip": "203.0.113.20"}, "ip", "outside your address ranges"),
        ({"ip": "198.51.100.9"}, "ip", "already in use"),
        ({"ip": "not-an-ip"}, "ip", "not an IPv4 address"),
        ({"size_gb": "101"}, "size_gb", "at most 100 GiB"),
        ({"size_gb": "0"}, "size_gb", "greater than or equal to 1"),
        ({"template": "13.0-RELEASE"}, "template", "13.0-RELEASE is not one of the available"),
        ({"hostname": "shop.a.example"}, "name", "already have a jail or request named “shop”"),
        ({"name": "Bad.Name"}, "name", "Use lowercase letters"),
        ({"purpose": "twin"}, "twin_of", "Choose the jail to twin"),
        ({"purpose": "cluster"}, "purpose", "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_created(
    client, world, customer_a_user, data, field, words
):
    client.force_login(customer_a_user)

    response = post(client, **data)

    assert response.status_code == 400
    assert words in field_errors(response)[field]
    assert not JailRequest.objects.exists()


def test_tier_jail_count_is_refused_when_used_up(client, world, customer_a, customer_a_user):
    for n in range(9):  # gold allows 10 jails; shop is the first
        JailFactory(host=world.a_host2, name=f"j{n}", ipv4=[])
    client.force_login(customer_a_user)

    response = post(client)

    assert response.status_code == 400
    assert "allows 10 jails; all are used" in " ".join(response.context["form"].non_field_errors())
    assert not JailRequest.objects.exists()


def test_a_name_held_by_a_pending_request_is_taken(client, world, customer_a_user):
    client.force_login(customer_a_user)
    post(client)

    response = post(client, hostname="api.other.example")

    assert "already have a jail or request named “api”" in field_errors(response)["name"]
    assert JailRequest.objects.count() == 1


def test_twin_of_another_customers_jail_is_not_a_choice(client, world, customer_a_user):
    """D3: the choice list is scoped; naming B's jail by id is the form's invalid choice."""
    client.force_login(customer_a_user)

    response = post(client, purpose="twin", twin_of=str(world.b_jail.pk))

    assert response.status_code == 400
    assert "Select a valid choice" in field_errors(response)["twin_of"]
    assert not JailRequest.objects.exists()


def test_a_twin_copies_the_source_and_gets_its_own_address(client, world, customer_a_user):
    client.force_login(customer_a_user)

    post(
        client,
        purpose="twin",
        twin_of=str(world.a_shop.pk),
        hostname="staging.shop.a.example",
        affinity="same",
    )

    req = JailRequest.objects.get()
    assert (req.purpose, req.twin_of, req.twin_of_label) == ("twin", world.a_shop, "jh-a1:shop")
    assert (req.name, req.host, req.template) == ("staging", world.a_host1, "")


def test_post_save_scope_recheck_rolls_back_an_escape(
    world, customer_a, customer_a_user, monkeypatch
):
    """D3: if a placement ever chose another tenant's host, the re-check inside the
    transaction refuses it and nothing is saved."""
    real = placement.compute

    def escaped(*args, **kwargs):
        preview = real(*args, **kwargs)
        return placement.Preview(**{**preview.__dict__, "host_id": world.b_host.pk})

    monkeypatch.setattr(placement, "compute", escaped)
    data = {
        "purpose": "production",
        "hostname": "x.a.example",
        "size_gb": 5,
        "template": "",
        "ip": "",
        "affinity": "any",
        "name": "",
        "twin_of": None,
    }

    with pytest.raises(jail_requests.ScopeEscape):
        jail_requests.create(customer_a, customer_a_user, data)

    assert not JailRequest.objects.exists()
    assert not AuditRecord.objects.filter(action="jail_request.create").exists()


def test_the_database_refuses_a_second_active_request_for_one_address(world, customer_a):
    JailRequest.objects.create(
        customer=customer_a,
        purpose="staging",
        name="one",
        hostname="one.a.example",
        size_gb=1,
        ip="198.51.100.12",
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        JailRequest.objects.create(
            customer=customer_a,
            purpose="staging",
            name="two",
            hostname="two.a.example",
            size_gb=1,
            ip="198.51.100.12",
        )


def test_a_finished_request_frees_its_address(world, customer_a):
    JailRequest.objects.create(
        customer=customer_a,
        purpose="staging",
        name="one",
        status="rejected",
        hostname="one.a.example",
        size_gb=1,
        ip="198.51.100.12",
    )

    JailRequest.objects.create(
        customer=customer_a,
        purpose="staging",
        name="one",
        hostname="one.a.example",
        size_gb=1,
        ip="198.51.100.12",
    )

    assert JailRequest.objects.filter(ip="198.51.100.12").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_for_the_last_free_address_exactly_one_gets_it(
    world, customer_a, customer_a_user, monkeypatch
):
    """Both see .14 free (every other usable address taken), both insert: the unique
    constraint lets exactly one through; the other is refused on `ip`, nothing half made."""
    for n in range(10, 14):
        JailFactory(host=world.a_host2, name=f"j{n}", ipv4=[f"198.51.100.{n}"])
    barrier = threading.Barrier(2, timeout=20)
    real = placement.compute

    def compute_then_wait(*args, **kwargs):
        preview = real(*args, **kwargs)
        barrier.wait()  # both previews are computed before either inserts
        return preview

    monkeypatch.setattr(placement, "compute", compute_then_wait)
    outcomes = []

    def attempt(n):
        data = {
            "purpose": "staging",
            "hostname": f"race{n}.a.example",
            "size_gb": 1,
            "template": "",
            "ip": "",
            "affinity": "any",
            "name": "",
            "twin_of": None,
        }
        try:
            req = jail_requests.create(customer_a, customer_a_user, data)
            outcomes.append(("ok", req.ip))
        except jail_requests.Refused as exc:
            outcomes.append(("refused", exc.errors))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(o[0] for o in outcomes) == ["ok", "refused"]
    refused = next(o[1] for o in outcomes if o[0] == "refused")
    assert refused == {"ip": "198.51.100.14 was just taken by another request."}
    assert list(JailRequest.objects.values_list("ip", flat=True)) == ["198.51.100.14"]


def test_the_service_refuses_a_template_that_does_not_exist_too(world, customer_a, customer_a_user):
    """Callers other than the form (the CLI builds the form too; other code may not)."""
    data = {
        "purpose": "production",
        "hostname": "x.a.example",
        "size_gb": 5,
        "ip": "",
        "template": "13.0-RELEASE",
        "affinity": "any",
        "name": "",
        "twin_of": None,
    }

    with pytest.raises(jail_requests.Refused) as refused:
        jail_requests.create(customer_a, customer_a_user, data)

    assert refused.value.errors["template"].startswith("No template “13.0-RELEASE”")
    assert not JailRequest.objects.exists()
