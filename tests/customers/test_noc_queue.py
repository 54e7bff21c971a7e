"""The NOC approval queue and the CLI: re-computed previews with a warning when they
changed, approve (optionally elsewhere), reject with a reason; customers get 403 (D4)."""

import json

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import AuditRecord
from customers.models import JailRequest
from hosts.models import Host
from operations.models import Operation
from portal import jail_requests, notices
from tests.dashboard.factories import JailFactory

pytestmark = pytest.mark.django_db


def make_request(customer, user, **data):
    base = {
        "purpose": "production",
        "hostname": "api.a.example",
        "size_gb": 10,
        "template": "",
        "ip": "",
        "affinity": "any",
        "name": "",
        "twin_of": None,
    }
    return jail_requests.create(customer, user, {**base, **data})


def test_queue_shows_pending_requests_with_their_preview_recomputed(
    client, world, customer_a, customer_a_user, noc_user
):
    make_request(customer_a, customer_a_user)
    client.force_login(noc_user)

    body = client.get(reverse("jailqueue:list")).content.decode()

    assert "api.a.example" in body and "Customer A" in body
    assert "changed since the customer saw it" not in body


def test_queue_warns_when_the_placement_changed(
    client, world, customer_a, customer_a_user, noc_user
):
    make_request(customer_a, customer_a_user)
    JailFactory(host=world.a_host1, name="squatter", ipv4=["198.51.100.10"])  # takes its IP
    client.force_login(noc_user)

    body = client.get(reverse("jailqueue:list")).content.decode()

    assert "changed since the customer saw it" in body
    assert "198.51.100.10 is already in use." in body


def test_approve_moves_the_request_on_audits_it_and_tells_the_customer(
    client, world, customer_a, customer_a_user, noc_user, django_capture_on_commit_callbacks
):
    req = make_request(customer_a, customer_a_user)
    client.force_login(noc_user)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("jailqueue:approve", args=[req.pk]), {"host": ""})

    req.refresh_from_db()
    assert response.status_code == 302
    assert (req.status, req.host, req.decided_by) == ("approved", world.a_host2, noc_user)
    assert AuditRecord.objects.filter(action="jail_request.approve", target_id=str(req.pk)).exists()
    op = Operation.objects.get(pk=req.operation_id)
    assert (op.kind, op.state, op.target_label) == ("jail-create", "approved", "api on jh-a2")
    assert op.params["ip"] == "198.51.100.10" and op.params["request"] == req.pk
    assert [s["key"] for s in op.plan] == ["dataset", "config", "start"]
    assert len(callbacks) == 2  # the engine's dispatch and the "approved" notice, after commit


def test_approve_on_another_of_the_customers_hosts(
    client, world, customer_a, customer_a_user, noc_user
):
    req = make_request(customer_a, customer_a_user)
    client.force_login(noc_user)

    client.post(reverse("jailqueue:approve", args=[req.pk]), {"host": str(world.a_host1.pk)})

    req.refresh_from_db()
    assert (req.status, req.host) == ("approved", world.a_host1)


def test_approve_on_another_customers_host_is_refused(
    client, world, customer_a, customer_a_user, noc_user
):
    req = make_request(customer_a, customer_a_user)
    client.force_login(noc_user)

    client.post(reverse("jailqueue:approve", args=[req.pk]), {"host": str(world.b_host.pk)})

    req.refresh_from_db()
    assert (req.status, req.host) == ("pending", world.a_host2)


def test_approve_refuses_when_the_address_was_taken_meanwhile(
    client, world, customer_a, customer_a_user, noc_user
):
    req = make_request(customer_a, customer_a_user)
    JailFactory(host=world.a_host1, name="squatter", ipv4=["198.51.100.10"])
    client.force_login(noc_user)

    response = client.post(reverse("jailqueue:approve", args=[req.pk]), {"host": ""}, follow=True)

    req.refresh_from_db()
    assert req.status == "pending"
    assert "198.51.100.10 is already in use." in response.content.decode()


def test_reject_needs_a_reason_which_the_customer_reads(
    client, world, customer_a, customer_a_user, noc_user
):
    req = make_request(customer_a, customer_a_user)
    client.force_login(noc_user)

    client.post(reverse("jailqueue:reject", args=[req.pk]), {"reason": ""})
    req.refresh_from_db()
    assert req.status == "pending"

    client.post(
        reverse("jailqueue:reject", args=[req.pk]), {"reason": "Use the shared DB instead."}
    )
    req.refresh_from_db()
    assert (req.status, req.status_text) == ("rejected", "Use the shared DB instead.")
    client.force_login(customer_a_user)
    page = client.get(reverse("customers:request", args=[req.pk])).content.decode()
    assert "Use the shared DB instead." in page


@pytest.mark.parametrize("route", ["jailqueue:approve", "jailqueue:reject"])
def test_customers_get_403_on_the_queue_and_change_nothing(
    client, world, customer_a, customer_a_user, route
):
    req = make_request(customer_a, customer_a_user)
    client.force_login(customer_a_user)

    assert client.get(reverse("jailqueue:list")).status_code == 403
    assert client.post(reverse(route, args=[req.pk]), {"reason": "x"}).status_code == 403
    req.refresh_from_db()
    assert req.status == "pending"


def test_notices_go_to_the_requester_and_the_customers_contacts(world, customer_a, customer_a_user):
    customer_a_user.email = "alice@a.example"
    customer_a_user.save()
    req = make_request(customer_a, customer_a_user)

    sent = notices.deliver_request_notice(req.pk, "received")

    assert sent == 2
    assert mail.outbox[0].to == ["alice@a.example", "ops@a.example"]
    assert mail.outbox[0].subject == "Jail request api: received"
    assert f"/portal/requests/{req.pk}/" in mail.outbox[0].body


# --- the CLI ---------------------------------------------------------------------------------


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("jail_requests", *args, stdout=out)
    return out.getvalue()


def test_cli_create_list_approve(world, customer_a, customer_a_user, noc_user):
    made = json.loads(
        run(
            "create",
            "--customer",
            "customer-a",
            "--user",
            "alice-a",
            "--purpose",
            "twin",
            "--of",
            "shop",
            "--hostname",
            "staging.shop.a.example",
            "--size",
            "5",
            "--json",
        )
    )
    assert (made["name"], made["twin_of"], made["status"]) == ("staging", "jh-a1:shop", "pending")

    listed = json.loads(run("list", "--json"))
    assert [r["id"] for r in listed] == [made["id"]]

    run("approve", str(made["id"]), "--user", "nora-noc", "--host", "jh-a1")
    assert JailRequest.objects.get().status == "approved"


def test_cli_refuses_bad_input_naming_the_field(world, customer_a_user):
    with pytest.raises(CommandError, match="hostname: Not an RFC 1123 host name"):
        run(
            "create",
            "--customer",
            "customer-a",
            "--user",
            "alice-a",
            "--purpose",
            "staging",
            "--hostname",
            "no_underscores.example",
        )
    with pytest.raises(CommandError, match=r"ip: 203\.0\.113\.9 is outside your address ranges"):
        run(
            "create",
            "--customer",
            "customer-a",
            "--user",
            "alice-a",
            "--purpose",
            "staging",
            "--hostname",
            "x.a.example",
            "--ip",
            "203.0.113.9",
        )
    assert not JailRequest.objects.exists()


def test_cli_create_refuses_another_customers_jail_and_foreign_users(world, customer_b_user):
    with pytest.raises(CommandError, match="is not a user of customer"):
        run(
            "create",
            "--customer",
            "customer-a",
            "--user",
            "charlie-b",
            "--purpose",
            "staging",
            "--hostname",
            "x.a.example",
        )
    with pytest.raises(CommandError, match="twin_of: no single jail"):
        run(
            "create",
            "--customer",
            "customer-b",
            "--user",
            "charlie-b",
            "--purpose",
            "twin",
            "--of",
            "shop",
            "--hostname",
            "x.b.example",
        )


def test_cli_reject_and_approve_need_noc(world, customer_a, customer_a_user):
    req = make_request(customer_a, customer_a_user)
    with pytest.raises(CommandError, match="is not NOC staff"):
        run("approve", str(req.pk), "--user", "alice-a")
    with pytest.raises(CommandError, match="is not NOC staff"):
        run("reject", str(req.pk), "--user", "alice-a", "--reason", "no")


def test_a_twin_cannot_be_approved_onto_another_host(
    client, world, customer_a, customer_a_user, noc_user
):
    req = make_request(
        customer_a,
        customer_a_user,
        purpose="twin",
        twin_of=world.a_shop,
        hostname="staging.shop.a.example",
    )
    client.force_login(noc_user)

    response = client.post(
        reverse("jailqueue:approve", args=[req.pk]), {"host": str(world.a_host2.pk)}, follow=True
    )

    req.refresh_from_db()
    assert (req.status, req.host) == ("pending", world.a_host1)
    assert "A twin stays on its source&#x27;s host, jh-a1." in response.content.decode()


def test_an_engine_refusal_leaves_the_request_pending_and_is_audited(
    world, customer_a, customer_a_user, noc_user
):
    req = make_request(customer_a, customer_a_user)
    # Reachable but never polled successfully: placement fits, the engine's freshness
    # preflight refuses.
    Host.objects.filter(pk=world.a_host2.pk).update(last_success_at=None)

    with pytest.raises(jail_requests.Refused, match="engine refused the plan"):
        jail_requests.approve(req.pk, noc_user)

    req.refresh_from_db()
    assert req.status == "pending" and req.operation_id is None
    assert AuditRecord.objects.filter(action="jail_request.approve_refused").exists()
    assert not Operation.objects.exists()


def test_a_customer_on_the_queue_is_logged_as_an_access_control_failure(
    client, customer_a_user, caplog
):
    client.force_login(customer_a_user)

    with caplog.at_level("WARNING", logger="django.request"):
        client.get(reverse("jailqueue:list"))

    assert any(
        "Forbidden" in r.getMessage() and "/noc/jail-requests/" in r.getMessage()
        for r in caplog.records
    )
