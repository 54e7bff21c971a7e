"""The operation pages and the CLI, end to end against the simulated fleet: plan as one
person, approve as another, run as the worker does, and the access rules around them."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nyiops import reauth
from operations import engine, services
from operations.models import Operation
from tests.otp import step_up

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dispatched(monkeypatch):
    """Operation ids handed to the broker (the worker is this test: it calls engine.run)."""
    sent = []
    monkeypatch.setattr(services, "_send", lambda pk: sent.append(pk))
    return sent


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_carp_maintenance_from_the_web_pages(polled_fleet, nora, sam, dispatched):
    requester = client_for(nora)
    page = requester.post(
        reverse("operations:plan"),
        {"kind": "carp-maintenance", "target": "fw-pair-1", "p_node": "fw1a", "reason": "BIOS"},
    )
    op = Operation.objects.get()
    assert page.status_code == 302 and page.url == reverse("operations:detail", args=[op.pk])
    detail = requester.get(page.url).content.decode()
    assert "sysctl net.inet.carp.demotion=240" in detail and "peer ready to take over" in detail

    step_up(requester, nora)  # CARP maintenance: approving it needs a recent re-auth
    own = requester.post(reverse("operations:approve", args=[op.pk]), follow=True)
    assert "needs a second person" in own.content.decode()
    op.refresh_from_db()
    assert op.state == "planned" and dispatched == []

    approver = client_for(sam)
    step_up(approver, sam)
    approver.post(reverse("operations:approve", args=[op.pk]))
    assert dispatched == [op.pk]
    engine.run(op.pk)  # what the worker does with it

    live = requester.get(reverse("operations:live", args=[op.pk]), HTTP_HX_REQUEST="true")
    html = live.content.decode()
    assert "Succeeded" in html and "net.inet.carp.demotion: 0 -&gt; 240" in html
    assert "hx-trigger" not in html  # finished: the partial stops polling


def test_live_partial_answers_204_when_nothing_changed(polled_fleet, nora):

    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    c = client_for(nora)
    first = c.get(reverse("operations:live", args=[op.pk]), HTTP_HX_REQUEST="true")
    version = first.content.decode().split('"X-Nyiops-Version": "')[1].split('"')[0]
    again = c.get(
        reverse("operations:live", args=[op.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_X_NYIOPS_VERSION=version,
    )
    assert again.status_code == 204


def test_plan_form_names_the_bad_field(polled_fleet, nora):
    c = client_for(nora)
    bad_node = c.post(
        reverse("operations:plan"),
        {"kind": "carp-maintenance", "target": "fw-pair-1", "p_node": "fw9z"},
    )
    assert bad_node.status_code == 400
    assert 'id="error-p_node"' in bad_node.content.decode()
    bad_target = c.post(reverse("operations:plan"), {"kind": "haproxy-drain", "target": "x;id"})
    assert "give the server as BACKEND/SERVER" in bad_target.content.decode()
    assert Operation.objects.count() == 0


def test_customers_and_oncall_cannot_act(polled_fleet, nora, oncall_user, customer_a_user):

    op = services.request_operation("haproxy-drain", "acme-web/web1", {}, by=nora)
    customer = client_for(customer_a_user)
    for name in ("list", "list-live", "plan"):
        assert customer.get(reverse(f"operations:{name}")).status_code == 403
    assert customer.get(reverse("operations:detail", args=[op.pk])).status_code == 403
    assert customer.post(reverse("operations:approve", args=[op.pk])).status_code == 403
    oncall = client_for(oncall_user)
    assert oncall.get(reverse("operations:detail", args=[op.pk])).status_code == 200
    assert oncall.post(reverse("operations:approve", args=[op.pk])).status_code == 403
    assert oncall.post(reverse("operations:plan"), {"kind": "haproxy-drain"}).status_code == 403
    op.refresh_from_db()
    assert op.state == "planned"


def test_approve_needs_a_csrf_token_and_a_recent_login(polled_fleet, nora, sam, dispatched):

    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sam)
    assert strict.post(reverse("operations:approve", args=[op.pk])).status_code == 403

    c = Client()
    c.force_login(sam)
    # Sam logged in (and so last re-authenticated) half an hour ago: past the 15 min window.
    session = c.session
    session[reauth.SESSION_KEY] = (timezone.now() - timedelta(minutes=30)).isoformat()
    session.save()
    stale = c.post(reverse("operations:approve", args=[op.pk]))
    assert stale.status_code == 302 and stale.url.startswith(reverse("reauth"))
    op.refresh_from_db()
    assert op.state == "planned" and dispatched == []

    step_up(c, sam)
    assert c.post(reverse("operations:approve", args=[op.pk])).status_code == 302
    op.refresh_from_db()
    assert op.state == "approved"


def test_haproxy_drain_from_the_cli(quick_drains, nora, dispatched):
    out = StringIO()
    call_command(
        "operations",
        "plan",
        "haproxy-drain",
        "acme-web/web2",
        "--user",
        "nora-noc",
        "--json",
        stdout=out,
    )
    planned = json.loads(out.getvalue())
    assert planned["state"] == "planned"
    call_command("operations", "approve", str(planned["id"]), "--user", "nora-noc", stdout=out)
    run_out = StringIO()
    call_command("operations", "run", str(planned["id"]), stdout=run_out)
    assert "succeeded" in run_out.getvalue()
    shown = StringIO()
    call_command("operations", "show", str(planned["id"]), "--json", stdout=shown)
    result = json.loads(shown.getvalue())
    assert result["state"] == "succeeded"
    assert result["steps"][0]["argv"] == [
        "echo",
        "set server acme-web/web2 state drain",
        "|",
        "socat",
        "stdio",
        "/var/run/haproxy.sock",
    ]
    listed = StringIO()
    call_command("operations", "list", stdout=listed)
    assert "haproxy-drain" in listed.getvalue()


def test_cli_refusal_and_bad_input_are_clear(polled_fleet, nora):
    with pytest.raises(CommandError, match="unknown operation kind 'reboot'"):
        call_command("operations", "plan", "reboot", "fw1a", "--user", "nora-noc")
    with pytest.raises(CommandError, match="node: choose the member"):
        call_command("operations", "plan", "carp-maintenance", "fw-pair-1", "--user", "nora-noc")
    kinds = StringIO()
    call_command("operations", "kinds", stdout=kinds)
    assert "carp-maintenance" in kinds.getvalue() and "second person" in kinds.getvalue()


def test_act_buttons_show_only_for_noc(polled_fleet, nora, oncall_user):
    from hosts.models import Cluster, HaproxyBackend

    cluster = Cluster.objects.get(name="fw-pair-1")
    page = client_for(nora).get(reverse("hosts:cluster", args=[cluster.pk])).content.decode()
    assert "Start maintenance of fw1a" in page and "Push ruleset" in page
    assert "kind=carp-maintenance&amp;target=fw-pair-1&amp;p_node=fw1a" in page
    backend = HaproxyBackend.objects.filter(host__name="lb1a", name="acme-web").first()
    page = client_for(nora).get(reverse("hosts:backend", args=[backend.pk])).content.decode()
    assert "Drain web1" in page
    seen = client_for(oncall_user).get(reverse("hosts:cluster", args=[cluster.pk]))
    assert seen.status_code == 200 and "Start maintenance" not in seen.content.decode()
