"""The NOC dashboard in a real browser: it logs in, shows the fleet, and its widgets follow
changes without a page reload, under the real CSP."""

import pytest
from playwright.sync_api import expect

from tests.dashboard.factories import firewall_pair
from tests.factories import FindingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_noc_sees_the_overview_and_a_failover_appears_without_reload(
    browse, noc_user, live_server, artifacts
):
    cluster, a, b = firewall_pair("fw1")
    page, errors = browse(noc_user)

    expect(page.locator("h1")).to_have_text("NOC overview")
    expect(page.locator("#w-firewalls")).to_contain_text("MASTER fw1a")
    page.evaluate("window.__sameDocument = 'yes'")
    page.screenshot(path=artifacts / "overview.png", full_page=True)

    a.carp_vhids.update(state="BACKUP")
    b.carp_vhids.update(state="MASTER")
    FindingFactory(
        cluster=cluster, kind="preferred_master_is_backup", severity="warning",
        subject="fw1", message="fw1: fw1b became MASTER for vhid 1 (was fw1a)",
    )  # fmt: skip

    expect(page.locator("#w-firewalls")).to_contain_text("MASTER fw1b", timeout=30000)
    expect(page.locator("#w-findings")).to_contain_text("fw1b became MASTER", timeout=30000)
    assert page.evaluate("window.__sameDocument") == "yes"  # swapped in place, no reload
    page.screenshot(path=artifacts / "overview-after-failover.png", full_page=True)

    page.click(f"#cluster-{cluster.pk} h3 a")
    expect(page.locator("h1")).to_have_text("fw1")
    expect(page.locator(f"#cluster-health-{cluster.pk}")).to_contain_text("fw1b became MASTER")
    page.screenshot(path=artifacts / "cluster.png", full_page=True)
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_pages_read_correctly_without_javascript(browse, noc_user, live_server):
    firewall_pair("fw2")
    page, _errors = browse(noc_user, js=False)

    page.goto(f"{live_server.url}/hosts/")

    expect(page.locator("#w-firewalls")).to_contain_text("MASTER fw2a")
    expect(page.locator("#w-findings")).to_contain_text("No open problems")


def test_phone_layout_fits_the_screen_and_wall_mode_hides_navigation(
    browse, noc_user, live_server, artifacts
):
    _cluster, _a, b = firewall_pair("fw3")
    b.facts.pfsync_syncok = 0
    b.facts.save()
    page, _errors = browse(noc_user, width=390, height=844)

    page.goto(f"{live_server.url}/hosts/")
    page.screenshot(path=artifacts / "overview-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1

    page.goto(f"{live_server.url}/hosts/?wall=1")
    expect(page.locator(".topbar")).to_have_count(0)
    expect(page.locator("#w-firewalls")).to_contain_text("not in sync")
    page.screenshot(path=artifacts / "overview-wall.png", full_page=True)
