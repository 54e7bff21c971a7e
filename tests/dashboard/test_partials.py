"""Every live widget is its own partial: it re-arms its poll, marks its requests, and costs
no rendering when nothing changed."""

import re

import pytest
from django.urls import reverse

from hosts.dashboard import generation
from hosts.views import WIDGETS
from tests.dashboard.factories import firewall_pair
from tests.factories import FindingFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def noc(client, noc_user):
    client.force_login(noc_user)
    return client


def version_of(html: str) -> str:
    return re.search(r'"X-Nyiops-Version": "([0-9a-f]+)"', html).group(1)


@pytest.mark.parametrize("name", list(WIDGETS))
def test_each_widget_renders_alone_and_rearms_its_poll(noc, name):
    firewall_pair()

    response = noc.get(reverse(f"hosts:widget-{name}"), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith("<section") and "<html" not in html
    assert f'id="w-{name}"' in html
    assert "data-live" in html and 'hx-swap="outerHTML"' in html
    assert re.search(r'hx-trigger="every \d+s, nyiops:refresh"', html)
    assert '"X-Nyiops-Poll": "1"' in html


@pytest.mark.parametrize("name", list(WIDGETS))
def test_widget_answers_204_when_the_client_already_has_this_version(noc, name):
    firewall_pair()
    version = version_of(noc.get(reverse(f"hosts:widget-{name}"), **HTMX).content.decode())

    response = noc.get(
        reverse(f"hosts:widget-{name}"),
        HTTP_X_NYIOPS_VERSION=version,
        HTTP_X_NYIOPS_POLL="1",
        **HTMX,
    )

    assert response.status_code == 204 and response.content == b""


def test_widget_rerenders_when_its_data_changed(noc):
    _cluster, a, b = firewall_pair("fw1")
    url = reverse("hosts:widget-firewalls")
    version = version_of(noc.get(url, **HTMX).content.decode())
    # As the poll stores a failover: the rows, and in the same transaction the dashboard's
    # generation (tests/dashboard/test_generation_sim.py runs the real poll pipeline).
    a.carp_vhids.update(state="BACKUP")
    b.carp_vhids.update(state="MASTER")
    generation.bump()

    response = noc.get(url, HTTP_X_NYIOPS_VERSION=version, **HTMX)

    assert response.status_code == 200
    assert "MASTER fw1b" in response.content.decode()


def test_new_finding_changes_the_findings_version(noc):
    url = reverse("hosts:widget-findings")
    version = version_of(noc.get(url, **HTMX).content.decode())
    FindingFactory(message="split brain on vhid 1")

    response = noc.get(url, HTTP_X_NYIOPS_VERSION=version, **HTMX)

    assert response.status_code == 200 and "split brain on vhid 1" in response.content.decode()


def test_partial_url_without_htmx_sends_the_browser_to_the_page(noc):
    response = noc.get(reverse("hosts:widget-findings"), {"customer": "x"})

    assert response.status_code == 302
    assert response.url == reverse("hosts:overview") + "?customer=x"


@pytest.mark.parametrize(
    "headers", [{"HTTP_HX_BOOSTED": "true"}, {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}]
)
def test_boosted_and_history_restore_requests_get_the_full_page(noc, headers):
    cluster, _a, _b = firewall_pair()

    response = noc.get(reverse("hosts:cluster", args=[cluster.pk]), **HTMX, **headers)

    assert "<html" in response.content.decode()


def test_widget_keeps_the_filters_in_its_refresh_url(noc):
    firewall_pair()

    html = noc.get(reverse("hosts:overview"), {"health": "critical"}).content.decode()

    assert 'hx-get="/hosts/live/firewalls/?health=critical"' in html


def test_cluster_health_partial_refreshes_the_pair_alone(noc):
    cluster, _a, b = firewall_pair("fw9")
    url = reverse("hosts:cluster-health", args=[cluster.pk])
    html = noc.get(url, **HTMX).content.decode()
    assert html.startswith("<section") and f'id="cluster-health-{cluster.pk}"' in html

    assert noc.get(url, HTTP_X_NYIOPS_VERSION=version_of(html), **HTMX).status_code == 204
    b.facts.pfsync_syncok = 0
    b.facts.save()
    generation.bump()  # as the poll that stores it does, in the same transaction
    assert (
        "not in sync"
        in noc.get(url, HTTP_X_NYIOPS_VERSION=version_of(html), **HTMX).content.decode()
    )


def test_host_status_partial_has_a_version_and_204s(noc):
    _cluster, a, _b = firewall_pair()
    url = reverse("hosts:host-status", args=[a.pk])
    html = noc.get(url, **HTMX).content.decode()

    assert noc.get(url, HTTP_X_NYIOPS_VERSION=version_of(html), **HTMX).status_code == 204


def test_live_partial_url_without_htmx_redirects_to_its_page(noc):
    cluster, a, _b = firewall_pair()

    assert noc.get(reverse("hosts:cluster-health", args=[cluster.pk])).url == reverse(
        "hosts:cluster", args=[cluster.pk]
    )
    assert noc.get(reverse("hosts:host-status", args=[a.pk])).url == reverse(
        "hosts:host", args=[a.pk]
    )
