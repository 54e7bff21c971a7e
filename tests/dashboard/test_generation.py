"""The overview's widgets are computed once per generation and reused by every viewer; any
change a widget shows makes a new generation, so no viewer is ever served the old view.

The poll pipeline's own bumps are proved against the simulated fleet in
test_generation_sim.py; these cover the cache, inventory edits, findings and the clock."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hosts import views
from hosts.dashboard import generation
from hosts.dashboard.common import Filters
from hosts.models import DashboardGeneration, Finding, Host
from hosts.views import WIDGETS
from nyiops.htmx import VERSION_HEADER
from nyiops.roles import NOC
from tests.dashboard.factories import FreshHostFactory, firewall_pair
from tests.factories import CustomerFactory, FindingFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}


@pytest.fixture
def still_clock():
    """Time stands still: the cache's epoch cannot roll over between two requests of a test
    that expects the second to be served from the first's entry."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


@pytest.fixture
def noc(client, noc_user):
    client.force_login(noc_user)
    return client


def version_of(response) -> str:
    return response[VERSION_HEADER]


def refresh(client, name: str, version: str | None = None, **params):
    extra = {"HTTP_X_NYIOPS_VERSION": version} if version else {}
    return client.get(reverse(f"hosts:widget-{name}"), params, **HTMX, **extra)


def fleet_queries(client, url, **extra) -> tuple[int, list[str]]:
    """The response's status and the statements it ran against the hosts app's tables."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    return response.status_code, [q["sql"] for q in ctx.captured_queries if '"hosts_' in q["sql"]]


def test_a_bump_commits_with_the_change_it_announces():
    before = generation.current("hosts")

    with pytest.raises(RuntimeError), transaction.atomic():
        generation.bump()
        raise RuntimeError("rolled back: the change never happened")
    assert generation.current("hosts") == before

    with transaction.atomic():
        generation.bump()
        generation.bump()
    assert generation.current("hosts") == before + 2


def test_inventory_edits_and_findings_make_a_new_generation():
    cluster, a, _b = firewall_pair("fw1")
    seen = generation.current()

    cluster.name = "fw-renamed"
    cluster.save()
    assert generation.current() > seen
    seen = generation.current()

    finding = FindingFactory(message="pool degraded")
    assert generation.current() > seen
    seen = generation.current()

    Finding.objects.filter(pk=finding.pk).delete()
    assert generation.current() > seen
    seen = generation.current()

    a.enabled = False
    a.save()
    assert generation.current() > seen


def test_the_polls_bookkeeping_alone_is_no_news_to_the_dashboard():
    host = FreshHostFactory(name="quiet1")
    seen = generation.current()

    host.last_poll_at = timezone.now()
    host.poll_claimed_until = None
    host.save(update_fields=["last_poll_at", "poll_claimed_until"])

    assert generation.current() == seen


@pytest.mark.parametrize("name", list(WIDGETS))
def test_an_unchanged_refresh_reads_the_generation_and_nothing_else(noc, name, still_clock):
    firewall_pair("fw1")
    FindingFactory(message="pool degraded")
    url = reverse(f"hosts:widget-{name}")
    version = version_of(refresh(noc, name))

    status, unchanged = fleet_queries(noc, url, HTTP_X_NYIOPS_VERSION=version, **HTMX)
    assert status == 204
    assert len(unchanged) == 1 and "hosts_dashboardgeneration" in unchanged[0]

    # A second viewer without that version gets the same partial, from the cache too.
    status, full = fleet_queries(noc, url, **HTMX)
    assert status == 200 and full == unchanged


@pytest.mark.parametrize("name", list(WIDGETS))
def test_a_second_viewer_reuses_the_first_viewers_widget(client, noc, name, still_clock):
    firewall_pair("fw1")
    first = refresh(noc, name)
    other = UserFactory(username="second-noc", is_staff=True)
    other.groups.add(Group.objects.get(name=NOC))
    second_client = type(client)()
    second_client.force_login(other)

    second = refresh(second_client, name)

    assert second.content == first.content
    assert version_of(second) == version_of(first)


def test_a_new_finding_shows_on_the_next_refresh_of_every_viewer(noc):
    firewall_pair("fw1")
    version = version_of(refresh(noc, "findings"))
    overview = noc.get(reverse("hosts:overview")).content.decode()
    assert "split brain on vhid 7" not in overview

    FindingFactory(message="split brain on vhid 7")

    response = refresh(noc, "findings", version)
    assert response.status_code == 200 and "split brain on vhid 7" in response.content.decode()
    assert "split brain on vhid 7" in noc.get(reverse("hosts:overview")).content.decode()


def test_an_inventory_edit_shows_on_the_next_refresh(noc):
    cluster, _a, _b = firewall_pair("fw1")
    version = version_of(refresh(noc, "firewalls"))

    cluster.name = "fw-edge-9"
    cluster.save()

    response = refresh(noc, "firewalls", version)
    assert response.status_code == 200 and "fw-edge-9" in response.content.decode()


def test_a_host_going_stale_shows_within_one_epoch_without_any_write(noc, settings):
    settings.NYIOPS_DASHBOARD_EPOCH = 10
    FreshHostFactory(name="lonely1", poll_interval=15)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        version = version_of(refresh(noc, "hosts"))
        assert "lonely1" not in refresh(noc, "hosts").content.decode()

        clock.shift(timedelta(minutes=5))  # no poll, no write: only the clock moved

        response = refresh(noc, "hosts", version)
    assert response.status_code == 200
    assert re.search(r"lonely1.*no good poll", response.content.decode(), re.S)


def test_filters_are_part_of_the_key(noc):
    acme, other = CustomerFactory(slug="acme"), CustomerFactory(slug="other")
    firewall_pair("fw-acme", customer=acme)
    firewall_pair("fw-other", customer=other)

    acme_view = refresh(noc, "firewalls", customer="acme").content.decode()
    other_view = refresh(noc, "firewalls", customer="other").content.decode()

    assert "fw-acme" in acme_view and "fw-other" not in acme_view
    assert "fw-other" in other_view and "fw-acme" not in other_view


def test_customers_never_reach_the_shared_widgets(client, customer_a_user, noc):
    firewall_pair("fw1")
    refresh(noc, "firewalls")  # cached for NOC viewers
    client.force_login(customer_a_user)

    for name in WIDGETS:
        assert refresh(client, name).status_code == 403
    assert client.get(reverse("hosts:overview")).status_code == 403
    assert Host.objects.count() == 2


def test_a_change_elsewhere_keeps_a_widgets_partial_and_recomputes_the_one_it_shows(
    still_clock,
):
    firewall_pair("fw1")
    gen = generation.current()
    findings_before = views.cached_html("findings", Filters(), gen)
    firewalls = views.cached_html("firewalls", Filters(), gen)
    firewalls_ctx = views.cached_context("firewalls", Filters(), gen)

    FindingFactory(message="pool tank degraded on an unrelated host")

    later = generation.current()
    assert later > gen
    # The firewall widget's rows did not change: the same context and partial, not rebuilt.
    assert views.cached_context("firewalls", Filters(), later) is firewalls_ctx
    assert views.cached_html("firewalls", Filters(), later) is firewalls
    findings_after = views.cached_html("findings", Filters(), later)
    assert "pool tank degraded" in findings_after and findings_after != findings_before


def test_a_change_is_announced_to_the_topics_of_the_widgets_that_show_its_host():
    _cluster, fw_host, _b = firewall_pair("fw1")
    lonely = FreshHostFactory(name="lonely1")

    assert generation.topics_for_host(fw_host.pk) == {
        "firewalls", "findings", "hosts", "storage", "backups",
    }  # fmt: skip
    assert generation.topics_for_host(lonely.pk) == {"findings", "hosts", "storage", "backups"}


def test_a_bump_grows_only_the_topics_it_names():
    seen = generation.by_topic()

    generation.bump({"jailservices", "hosts"})

    now = generation.by_topic()
    assert {t for t in now if now[t] != seen[t]} == {"jailservices", "hosts"}
    assert now["jailservices"] == seen["jailservices"] + 1
    assert generation.current("jailservices") == now["jailservices"]
    assert generation.current() == sum(now.values())
    with pytest.raises(ValueError, match="unknown dashboard topics"):
        generation.bump({"firewall"})  # a cluster kind is not a topic: cluster_topic() maps


def test_a_finding_on_a_firewall_pair_leaves_the_other_cluster_widgets_cached(noc, still_clock):
    cluster, _a, _b = firewall_pair("fw1")
    versions = {name: version_of(refresh(noc, name)) for name in WIDGETS}

    FindingFactory(cluster=cluster, host=None, message="pfsync out of sync")

    assert refresh(noc, "firewalls", versions["firewalls"]).status_code == 200
    assert refresh(noc, "findings", versions["findings"]).status_code == 200
    for name in ("loadbalancers", "jailservices"):
        status, queries = fleet_queries(
            noc, reverse(f"hosts:widget-{name}"), HTTP_X_NYIOPS_VERSION=versions[name], **HTMX
        )
        assert status == 204
        assert len(queries) == 1 and "hosts_dashboardgeneration" in queries[0]


def test_folding_idle_writers_keeps_every_topics_generation(still_clock):
    generation.bump()
    generation.bump({"storage"})
    seen = generation.by_topic()
    rows = DashboardGeneration.objects.count()

    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        folded = generation.fold_idle_slots()
        assert folded >= len(generation.TOPICS)
        assert generation.by_topic() == seen
        generation.bump({"storage"})  # the writer comes back: a new row, the sum goes on
        assert generation.current("storage") == seen["storage"] + 1
        assert generation.fold_idle_slots() == 0  # nothing idle for a day any more
    assert DashboardGeneration.objects.count() <= rows


def test_the_hourly_prune_folds_idle_writers(still_clock):
    from hosts.tasks import prune_history

    generation.bump()

    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        result = prune_history()

    assert f"folded {len(generation.TOPICS)} generation rows" in result
