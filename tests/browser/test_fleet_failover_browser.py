"""End to end: a simulated fleet polled over real SSH, a failover injected in it, and the
NOC overview showing the new MASTER and the finding without a reload."""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from fleetsim.testing import running_fleet
from hosts.models import Cluster, Host
from hosts.polling.run import poll_host
from tests.integration.conftest import stop_polling

pytestmark = [pytest.mark.browser, pytest.mark.sim, pytest.mark.django_db(transaction=True)]
DEMO_SPEC = Path(__file__).resolve().parents[2] / "demo" / "fleet.yaml"


@pytest.fixture
def fleet(tmp_path, settings):
    # Shrunk so the host taken down fails its poll fast.
    settings.NYIOPS_SSH_TIMEOUTS = {"connect": 1.0, "banner": 1.0, "auth": 1.0, "command": 3.0}
    with running_fleet(DEMO_SPEC, tmp_path / "fleet", base_port=0) as running:
        call_command("import_inventory", str(running.inventory_path), verbosity=0)
        try:
            yield running
        finally:
            stop_polling()  # before the fleet stops (see stop_polling)


def poll(*names):
    for host in Host.objects.select_related("credential").filter(name__in=names):
        poll_host(host)


def masters(fleet, host):
    return {e["vhid"] for e in fleet.state(host)["carp"] if e["state"] == "MASTER"}


def test_injected_failover_shows_new_master_and_finding_without_reload(
    fleet, browse, noc_user, live_server, artifacts
):
    poll(*Host.objects.values_list("name", flat=True))
    pair = Cluster.objects.get(name="fw-pair-1")
    page, errors = browse(noc_user)
    card = page.locator("#w-firewalls")
    expect(card).to_contain_text("fw-pair-1")
    expect(card).to_contain_text("MASTER fw1a")
    page.evaluate("window.__sameDocument = 'yes'")
    page.screenshot(path=artifacts / "overview-fleet.png", full_page=True)

    fleet.inject("fw1a", "down")
    assert fleet.wait_for(lambda f: masters(f, "fw1b") == {1, 2, 3}, timeout=6)
    poll("fw1a", "fw1b")

    unit = page.locator(f"#cluster-{pair.pk}")
    expect(unit).to_contain_text("fw1b became MASTER", timeout=30000)
    expect(unit.locator("tbody tr").first).to_contain_text("MASTER")
    expect(page.locator("#w-findings")).to_contain_text("fw1b became MASTER")
    expect(page.locator("#w-hosts")).to_contain_text("fw1a", timeout=30000)
    assert page.evaluate("window.__sameDocument") == "yes"
    page.screenshot(path=artifacts / "overview-fleet-failover.png", full_page=True)

    page.goto(f"{live_server.url}/hosts/clusters/{pair.pk}/")
    expect(page.locator(".chart").first).to_be_visible()
    page.screenshot(path=artifacts / "cluster-fleet-failover.png", full_page=True)
    assert [e for e in errors if "Content Security Policy" in e] == []
