"""The poll pipeline bumps the dashboard's generation exactly when it stores something a
widget shows, against the simulated fleet (marker: sim): a failover stored by the poll is on
the next refresh of every viewer; an unchanged poll and a counter sample leave the cached
widgets alone."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from hosts.dashboard import generation
from hosts.models import Cluster, HostFacts, MetricSample
from nyiops.htmx import VERSION_HEADER
from tests.integration.conftest import fleet, poll, ssh_timeouts  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.sim, pytest.mark.django_db]
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}


@pytest.fixture
def noc(client, noc_user):
    client.force_login(noc_user)
    return client


def drain_a_server_of_lb1a(sim) -> None:
    """A server drained on purpose (HAProxy's DRAIN admin state), in the fleet's state."""

    def drain(server):
        server.server.fleet.hosts["lb1a"]["haproxy"]["backends"][0]["servers"][2]["admin"] = 0x08

    sim.call(drain, sim)


def refresh(client, name: str, version: str | None = None):
    extra = {"HTTP_X_NYIOPS_VERSION": version} if version else {}
    return client.get(reverse(f"hosts:widget-{name}"), **HTMX, **extra)


def test_a_failover_stored_by_the_poll_is_on_the_next_refresh(fleet, noc):  # noqa: F811
    poll("fw2a", "fw2b")
    poll("fw2a", "fw2b")  # steady: the next unchanged poll takes the fast path
    before = refresh(noc, "firewalls")
    assert "split brain" not in before.content.decode()
    pair = Cluster.objects.get(name="fw-pair-2")
    card_url = reverse("hosts:cluster-health", args=[pair.pk])
    card = noc.get(card_url, **HTMX)[VERSION_HEADER]
    seen = generation.current()
    fleet.inject("fw-pair-2", "split-brain")
    assert fleet.wait_for(
        lambda f: {e["state"] for e in f.state("fw2b")["carp"]} == {"MASTER"}, timeout=6
    )

    poll("fw2a", "fw2b")

    assert generation.current() > seen
    response = refresh(noc, "firewalls", before[VERSION_HEADER])
    assert response.status_code == 200
    assert response[VERSION_HEADER] != before[VERSION_HEADER]
    assert "fw-pair-2" in response.content.decode()
    assert "split brain" in response.content.decode().lower()
    overview = noc.get(reverse("hosts:overview")).content.decode().lower()
    assert "split brain" in overview
    response = noc.get(card_url, HTTP_X_NYIOPS_VERSION=card, **HTMX)
    assert response.status_code == 200 and "split brain" in response.content.decode().lower()


def test_an_unchanged_poll_and_a_counter_sample_leave_the_widgets_cached(fleet, noc):  # noqa: F811
    poll("lb1a")
    poll("lb1a")
    version = refresh(noc, "loadbalancers")[VERSION_HEADER]
    seen = generation.current()
    fleet.advance(20)  # pf and HAProxy counters move; no state does

    poll("lb1a")  # the fast path
    assert generation.current() == seen
    assert refresh(noc, "loadbalancers", version).status_code == 204

    # Once a minute the counters are stored: still no news for the generation (they reach
    # the widgets with the cache's epoch).
    HostFacts.objects.filter(host__name="lb1a").update(
        metrics_sampled_at=timezone.now() - timedelta(seconds=61)
    )
    samples = MetricSample.objects.filter(host__name="lb1a").count()
    poll("lb1a")
    assert MetricSample.objects.filter(host__name="lb1a").count() > samples
    assert generation.current() == seen


def test_a_host_going_down_is_on_the_next_refresh(fleet, noc):  # noqa: F811
    poll("web2")
    version = refresh(noc, "hosts")[VERSION_HEADER]
    fleet.inject("web2", "down")

    poll("web2")

    response = refresh(noc, "hosts", version)
    assert response.status_code == 200 and "web2" in response.content.decode()


def test_a_shown_change_without_any_finding_is_announced_to_the_widgets_that_show_it(
    fleet,  # noqa: F811
    noc,
):
    # A server drained on purpose: the widget shows it (servers UP), no rule finds it (DRAIN
    # is intentional), so only the poll's own bump can tell the cached widgets.
    poll("lb1a")
    poll("lb1a")
    loadbalancers = refresh(noc, "loadbalancers")[VERSION_HEADER]
    firewalls = refresh(noc, "firewalls")[VERSION_HEADER]
    seen = generation.by_topic()

    drain_a_server_of_lb1a(fleet)
    poll("lb1a")

    now = generation.by_topic()
    grown = {topic for topic in now if now[topic] > seen[topic]}
    # lb1a is a member of a load-balancer pair only: the firewall and jail widgets do not
    # show it, and keep their cached views (an unchanged firewall refresh stays a 204).
    assert grown == {"loadbalancers", "findings", "hosts", "storage", "backups"}
    response = refresh(noc, "loadbalancers", loadbalancers)
    assert response.status_code == 200 and response[VERSION_HEADER] != loadbalancers
    assert refresh(noc, "firewalls", firewalls).status_code == 204
