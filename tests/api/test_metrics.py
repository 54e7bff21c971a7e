"""/metrics: bearer-token protected, promtool-style names, a fixed number of queries, and
the current state it reports (parsed with prometheus-client's own parser)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.metrics import StateCollector
from api.views import pages
from hosts.models import CarpVhid, Host
from nyiops.metrics import observe_delivery, observe_poll
from tests.api.metrics_lint import families, naming_problems
from tests.factories import ClusterFactory, ClusterMemberFactory, HostFactory

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def metrics_token(settings):
    settings.NYIOPS_METRICS_TOKEN = TOKEN


@pytest.fixture(autouse=True)
def no_broker_in_scrape(monkeypatch):
    # The broker part is tested on its own; the rest must not depend on a broker here.
    monkeypatch.setattr(StateCollector, "_queues", lambda self: iter(()))


def scrape(client) -> str:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def sample(text, name, **labels):
    family = families(text)[name]
    values = [s.value for s in family.samples if s.labels == labels and s.name == name]
    return values[0] if values else None


@pytest.mark.parametrize("header", ["", "Bearer wrong", "Basic czNjcmV0", f"Token {TOKEN}"])
def test_metrics_needs_the_bearer_token(client, metrics_token, header):
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_is_disabled_in_production_without_a_token(client, settings, noc_user):
    settings.NYIOPS_METRICS_TOKEN = ""
    settings.PRODUCTION = True
    client.force_login(noc_user)

    assert client.get(reverse("metrics")).status_code == 404


def test_without_a_token_in_development_only_staff_sessions_scrape(
    client, settings, noc_user, customer_a_user
):
    settings.NYIOPS_METRICS_TOKEN = ""
    client.force_login(customer_a_user)
    assert client.get(reverse("metrics")).status_code == 401
    client.force_login(noc_user)
    assert client.get(reverse("metrics")).status_code == 200


def test_metric_names_follow_the_prometheus_conventions(client, metrics_token, fleet):
    observe_poll(0.2, stored_at=None, ssh_error_kind="timeout")
    observe_delivery("email", True, 12.0)

    text = scrape(client)

    assert naming_problems(text) == []
    names = set(families(text))
    for expected in (
        "nyiops_hosts",
        "nyiops_carp_vhids",
        "nyiops_carp_vhid_master",
        "nyiops_carp_vhids_without_single_master",
        "nyiops_pfsync_in_sync",
        "nyiops_zpool_health",
        "nyiops_zpool_capacity_ratio",
        "nyiops_gmirror_state",
        "nyiops_gmirror_rebuild_ratio",
        "nyiops_haproxy_backend_servers_up",
        "nyiops_haproxy_backend_servers",
        "nyiops_backup_last_good_age_seconds",
        "nyiops_alerts_open",
        "nyiops_poll_duration_seconds",
        "nyiops_poll_lag_seconds",
        "nyiops_ssh_errors",
        "nyiops_page_latency_seconds",
    ):
        assert expected in names, expected


def test_the_lint_itself_catches_bad_names():
    bad = (
        "# HELP nyiops_poll_duration_ms x\n# TYPE nyiops_poll_duration_ms gauge\n"
        "nyiops_poll_duration_ms 3\n"
        "# HELP nyiops_pool_cap_percent x\n# TYPE nyiops_pool_cap_percent gauge\n"
        "nyiops_pool_cap_percent 3\n"
        "# HELP nyiops_errors x\n# TYPE nyiops_errors counter\nnyiops_errors 3\n"
    )

    assert len(naming_problems(bad)) >= 3


def test_state_is_reported_as_stored(client, metrics_token, fleet):
    text = scrape(client)

    assert (
        sample(
            text,
            "nyiops_carp_vhid_master",
            cluster="fw-pair-a",
            host="fw-a1",
            interface="em0",
            vhid="1",
        )
        == 1
    )
    assert (
        sample(
            text,
            "nyiops_carp_vhid_master",
            cluster="fw-pair-a",
            host="fw-a2",
            interface="em0",
            vhid="1",
        )
        == 0
    )
    assert sample(text, "nyiops_carp_vhids_without_single_master", cluster="fw-pair-a") == 0
    assert sample(text, "nyiops_hosts", reachability="ok") == 4
    assert (
        sample(text, "nyiops_gmirror_rebuild_ratio", host="fw-a1", mirror="gm0", component="ada1")
        == 0.42
    )
    assert sample(text, "nyiops_zpool_capacity_ratio", host="fw-a1", pool="zroot") == 0.1
    assert sample(text, "nyiops_haproxy_backend_servers_up", host="fw-a1", backend="web") == 2
    assert sample(text, "nyiops_alerts_open", severity="warning", state="firing") == 2
    assert 2900 < sample(text, "nyiops_backup_last_good_age_seconds", customer="customer-a") < 3100


def test_a_cluster_without_vhids_adds_no_carp_series(client, metrics_token, fleet):
    jails = ClusterFactory(name="jails-a", kind="jail-service")
    ClusterMemberFactory(cluster=jails, host=HostFactory(name="jh1", roles=["jailhost"]))

    text = scrape(client)

    clusters = {s.labels["cluster"] for s in families(text)["nyiops_carp_vhids"].samples}
    assert clusters == {"fw-pair-a", "fw-pair-b"}


def test_each_hosts_last_poll_is_reported_from_the_database(client, metrics_token, fleet):
    Host.objects.filter(name="fw-a1").update(
        last_poll_at=timezone.now() - dt.timedelta(seconds=40), last_poll_duration_ms=250
    )

    text = scrape(client)

    assert sample(text, "nyiops_host_last_poll_duration_seconds", host="fw-a1") == 0.25
    assert 39 < sample(text, "nyiops_host_last_poll_age_seconds", host="fw-a1") < 60
    assert sample(text, "nyiops_host_poll_interval_seconds", host="fw-a1") == 15
    assert sample(text, "nyiops_host_last_poll_age_seconds", host="fw-a2") is None  # never


def test_split_brain_shows_as_a_vhid_without_a_single_master(client, metrics_token, fleet):
    CarpVhid.objects.filter(host__name="fw-b2").update(state="MASTER")

    text = scrape(client)

    assert sample(text, "nyiops_carp_vhids_without_single_master", cluster="fw-pair-b") == 1
    assert sample(text, "nyiops_carp_vhids", cluster="fw-pair-b", state="MASTER") == 2


def test_scrape_runs_a_fixed_number_of_queries(client, metrics_token, fleet):
    from tests.api.conftest import _tenant_fleet
    from tests.factories import CustomerFactory, SiteFactory

    with CaptureQueriesContext(connection) as small:
        scrape(client)
    for tag in ("c", "d", "e", "f"):
        _tenant_fleet(CustomerFactory(slug=f"customer-{tag}"), tag, SiteFactory(slug=f"s{tag}"))
    with CaptureQueriesContext(connection) as large:
        scrape(client)

    assert len(large) == len(small)


def test_broker_trouble_is_reported_not_raised(monkeypatch, client, metrics_token):
    monkeypatch.undo()  # the real _queues, against a broker that fails

    def refuse():
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(pages.StateCollector, "_queues", StateCollector.__dict__["_queues"])
    monkeypatch.setattr("api.metrics.celery_app.connection_for_read", refuse)

    text = scrape(client)

    assert sample(text, "nyiops_celery_broker_up") == 0


def test_grafana_dashboard_reads_only_metrics_that_exist(client, metrics_token, fleet):
    import json
    import re
    from pathlib import Path

    observe_poll(0.1, stored_at=None, ssh_error_kind="auth")
    Host.objects.update(last_poll_at=timezone.now(), last_poll_duration_ms=12)
    names = set()
    for family in families(scrape(client)).values():
        names |= {s.name for s in family.samples}
    dashboard = json.loads((Path(__file__).parents[2] / "docs/grafana-nyiops.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bnyiops_[a-z_]+", e)}

    # the queue gauge needs a broker (skipped here); everything else must be in the scrape
    assert used - names <= {"nyiops_celery_queue_messages"}


def test_queue_depth_is_read_from_the_broker(monkeypatch, client, metrics_token):
    monkeypatch.undo()  # the real _queues, against the configured (filesystem) broker

    text = scrape(client)

    assert sample(text, "nyiops_celery_broker_up") == 1
    queues = {s.labels["queue"] for s in families(text)["nyiops_celery_queue_messages"].samples}
    assert queues == {"poll", "operations", "notify"}
