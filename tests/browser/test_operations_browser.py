"""End to end in Chromium: one NOC person plans a CARP maintenance from the cluster page,
another approves it, and the first sees it finish on the open page without reloading."""

import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import expect

from fleetsim.testing import running_fleet
from hosts.models import Cluster, Host
from hosts.polling.run import poll_host
from nyiops.roles import NOC
from operations import engine, services
from operations.models import Operation
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
        for host in Host.objects.select_related("credential").filter(name__in=["fw1a", "fw1b"]):
            poll_host(host)
        try:
            yield running
        finally:
            stop_polling()  # before the fleet stops (see stop_polling)


@pytest.fixture
def worker(monkeypatch):
    """The operations worker: what the broker would deliver runs in a thread here."""
    threads = []

    def deliver(op_id):
        def run():
            try:
                engine.run(op_id)
            finally:
                connection.close()

        t = threading.Thread(target=run, daemon=True)
        threads.append(t)
        t.start()

    monkeypatch.setattr(services, "_send", deliver)
    yield
    for t in threads:
        t.join(60)


def test_maintenance_planned_by_one_approved_by_another_finishes_live(
    fleet, worker, browse, live_server, artifacts
):
    nora = _user_in(NOC, username="nora-noc", is_staff=True)
    sam = _user_in(NOC, username="sam-noc", is_staff=True)
    pair = Cluster.objects.get(name="fw-pair-1")

    page, errors = browse(nora)
    page.goto(f"{live_server.url}/hosts/clusters/{pair.pk}/")
    page.click("text=Start maintenance of fw1a")
    expect(page.locator("#id_target")).to_have_value("fw-pair-1")
    expect(page.locator("#p_node")).to_have_value("fw1a")
    page.fill("#id_reason", "BIOS update")
    page.click("#plan-submit")
    expect(page.locator("h1")).to_contain_text("carp-maintenance")
    expect(page.locator("body")).to_contain_text("sysctl net.inet.carp.demotion=240")
    op = Operation.objects.get()
    page.evaluate("window.__sameDocument = 'yes'")
    page.screenshot(path=artifacts / "operation-planned.png", full_page=True)

    approver, approver_errors = browse(sam)
    approver.goto(f"{live_server.url}/operations/{op.pk}/")
    approver.click("#approve")
    expect(approver.locator("body")).to_contain_text("approved")

    expect(page.locator("#op-state")).to_have_text("Succeeded", timeout=45000)
    expect(page.locator("#op-progress")).to_contain_text("net.inet.carp.demotion: 0 -> 240")
    assert page.evaluate("window.__sameDocument") == "yes"  # no reload happened
    page.screenshot(path=artifacts / "operation-succeeded.png", full_page=True)
    for logged in (errors, approver_errors):  # CSP forbids inline script/style
        assert [e for e in logged if "Content Security Policy" in e] == []
