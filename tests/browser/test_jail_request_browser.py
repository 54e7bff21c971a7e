"""Issue 11's "done when", in real Chromium: a customer asks for a staging twin of their
production jail and sees the placement preview; a NOC user approves it; the jail is created
on the simulated fleet over SSH and shows as running in the customer's open portal without
a reload.

The worker and beat are played by the test thread calling the same functions they call
(`engine.run` for the dispatched operation, `provisioning.sync_requests` for the sweep), so
the test does not depend on a Celery worker's timing."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from customers.models import Customer, JailRequest, Membership
from fleetsim.testing import running_fleet
from hosts.models import Host
from hosts.polling.run import poll_host
from nyiops.roles import CUSTOMER
from operations import engine
from tests.conftest import _user_in
from tests.integration.conftest import stop_polling

pytestmark = [pytest.mark.browser, pytest.mark.sim, pytest.mark.django_db(transaction=True)]
DEMO_SPEC = Path(__file__).resolve().parents[2] / "demo" / "fleet.yaml"


@pytest.fixture
def fleet(tmp_path, settings):
    settings.NYIOPS_SSH_TIMEOUTS = {"connect": 1.0, "banner": 1.0, "auth": 1.0, "command": 3.0}
    settings.NYIOPS_OPERATION_VERIFY_INTERVAL_SECONDS = 0.2
    with running_fleet(DEMO_SPEC, tmp_path / "fleet", base_port=0) as running:
        call_command("import_inventory", str(running.inventory_path), verbosity=0)
        for host in Host.objects.select_related("credential").filter(name__in=["app1", "iweb1"]):
            poll_host(host)
        try:
            yield running
        finally:
            stop_polling()  # before the fleet stops (see stop_polling)


@pytest.fixture
def ivy(db):
    user = _user_in(CUSTOMER, username="ivy-initech")
    Membership.objects.create(user=user, customer=Customer.objects.get(slug="initech"))
    return user


def test_customer_requests_a_twin_noc_approves_and_the_jail_runs_without_reload(
    fleet, browse, ivy, noc_user, artifacts, live_server
):
    from portal import provisioning

    page, errors = browse(ivy)
    jails = page.locator("#w-jails")
    expect(jails).to_contain_text("shop-production")
    jails.locator('tr[data-jail="shop-production"]').get_by_role(
        "link", name="Staging twin…"
    ).click()
    page.fill("#id_hostname", "preview.shop.initech.example")
    page.fill("#id_name", "preview")
    page.fill("#id_size_gb", "5")
    page.get_by_role("button", name="Preview placement").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Would go on app1")
    expect(preview).to_contain_text("198.51.100.137")
    page.screenshot(path=artifacts / "request-preview.png", full_page=True)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#w-request-status")).to_contain_text("Waiting for approval")
    page.get_by_role("link", name="← Portal").click()
    expect(page.locator("#w-requests")).to_contain_text("Waiting for approval")
    page.evaluate("window.__sameDocument = 'yes'")

    noc, noc_errors = browse(noc_user)
    noc.goto(live_server.url + reverse("jailqueue:list"))
    card = noc.locator("section[id^=req-]").first
    expect(card).to_contain_text("preview")
    expect(card).to_contain_text("app1")
    noc.screenshot(path=artifacts / "noc-queue.png", full_page=True)
    card.get_by_role("button", name="Approve").click()
    expect(noc.locator(".messages")).to_contain_text("preview approved on app1")

    req = JailRequest.objects.get(name="preview")
    assert engine.run(req.operation_id)  # the worker's part
    provisioning.sync_requests()  # the beat's part

    row = page.locator('#w-jails tr[data-jail="preview"]')
    expect(row).to_contain_text("running", timeout=30000)
    expect(row).to_contain_text("198.51.100.137")
    expect(page.locator("#w-requests")).to_contain_text("Ready", timeout=30000)
    assert page.evaluate("window.__sameDocument") == "yes"
    assert fleet.state("app1")["jails"][-1]["name"] == "preview"
    page.screenshot(path=artifacts / "portal-jail-running.png", full_page=True)
    for e in errors + noc_errors:  # a missing favicon is the only 404 a browser asks for
        assert "Content Security Policy" not in e and "status of 5" not in e, e
