"""Observed state through the API: cluster health from the one judge, filters, cursor
pages, time windows on events, ETags."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hosts.dashboard.clusters import cluster_views
from hosts.models import CarpVhid, Cluster, StatusEvent

pytestmark = pytest.mark.django_db


def test_cluster_health_says_what_the_dashboard_judge_says(fleet, noc_api):
    cluster = fleet["a"]["cluster"]
    CarpVhid.objects.filter(host__name="fw-a2").update(state="MASTER")  # split brain
    (judged,) = cluster_views(Cluster.objects.filter(pk=cluster.pk), timezone.now(), ["firewall"])

    body = noc_api.get(f"/api/cluster-health/{cluster.pk}/").json()

    assert body["tone"] == judged.tone == "critical"
    (vhid,) = body["vhids"]
    assert vhid["verdict"] == {"tone": "critical", "text": judged.vhids[0].verdict.text}
    assert "split brain" in vhid["verdict"]["text"]
    assert {m["host"]: m["state"] for m in vhid["members"]} == {
        "fw-a1": "MASTER",
        "fw-a2": "MASTER",
    }


def test_cluster_health_filters_by_the_judges_tone(fleet, noc_api):
    CarpVhid.objects.filter(host__name="fw-b2").update(state="MASTER")

    critical = noc_api.get("/api/cluster-health/", {"health": "critical"}).json()["results"]
    warning = noc_api.get("/api/cluster-health/", {"health": "warning"}).json()["results"]

    assert [c["name"] for c in critical] == ["fw-pair-b"]
    assert [c["name"] for c in warning] == ["fw-pair-a"]  # its mirror is degraded


def test_cluster_health_list_runs_a_fixed_number_of_queries(fleet, noc_api):
    noc_api.get("/api/cluster-health/")  # the token's last_used_at write happens here
    with CaptureQueriesContext(connection) as two:
        noc_api.get("/api/cluster-health/")
    from tests.api.conftest import _tenant_fleet
    from tests.factories import CustomerFactory, SiteFactory

    for tag in ("c", "d", "e"):
        _tenant_fleet(CustomerFactory(slug=f"customer-{tag}"), tag, SiteFactory(slug=f"s{tag}"))
    with CaptureQueriesContext(connection) as five:
        response = noc_api.get("/api/cluster-health/")

    assert len(response.json()["results"]) == 5
    assert len(five) == len(two)


@pytest.mark.parametrize(
    "route",
    ["hosts", "clusters", "vhids", "pools", "mirrors", "jails", "backends", "findings", "events"],
)
def test_lists_run_a_fixed_number_of_queries(route, fleet, noc_api):
    from tests.api.conftest import _tenant_fleet
    from tests.factories import CustomerFactory, SiteFactory

    noc_api.get(f"/api/{route}/")  # the token's last_used_at write happens here
    with CaptureQueriesContext(connection) as before:
        noc_api.get(f"/api/{route}/")
    for tag in ("c", "d", "e"):
        _tenant_fleet(CustomerFactory(slug=f"customer-{tag}"), tag, SiteFactory(slug=f"s{tag}"))
    with CaptureQueriesContext(connection) as after:
        noc_api.get(f"/api/{route}/")

    assert len(after) == len(before)


def test_hosts_filter_by_customer_site_role_and_health(fleet, noc_api):
    fleet["b"]["hosts"][1].__class__.objects.filter(name="fw-b2").update(
        reachability="unknown", reachability_reason="connection refused"
    )

    def names(**params):
        return [h["name"] for h in noc_api.get("/api/hosts/", params).json()["results"]]

    assert names(customer="customer-a") == ["fw-a1", "fw-a2"]
    assert names(site="ams1") == ["fw-b1", "fw-b2"]
    assert names(role="storage") == ["fw-a1", "fw-b1"]
    assert names(health="unreachable") == ["fw-b2"]


def test_a_bad_filter_value_is_a_400_naming_the_filter(fleet, noc_api):
    response = noc_api.get("/api/hosts/", {"health": "purple"})

    assert response.status_code == 400
    assert set(response.json()) == {"health"}


def test_events_time_window_and_newest_first(fleet, noc_api):
    host = fleet["a"]["hosts"][0]
    t0 = timezone.now() - dt.timedelta(hours=2)
    for minutes in (0, 30, 60):
        StatusEvent.objects.create(
            host=host,
            at=t0 + dt.timedelta(minutes=minutes),
            subject_type="host",
            subject=host.name,
            field="reachability",
            old="ok",
            new=f"m{minutes}",
        )

    response = noc_api.get(
        "/api/events/",
        {
            "host": host.name,
            "since": t0.isoformat(),
            "until": (t0 + dt.timedelta(minutes=45)).isoformat(),
        },
    )

    assert [e["new"] for e in response.json()["results"]] == ["m30", "m0"]


def test_cursor_pagination_walks_every_row_once(fleet, noc_api):
    seen, url = [], "/api/hosts/?limit=1"
    while url:
        page = noc_api.get(url).json()
        seen += [h["name"] for h in page["results"]]
        url = page["next"]

    assert seen == ["fw-a1", "fw-a2", "fw-b1", "fw-b2"]


def test_etag_gives_304_until_the_state_changes(fleet, noc_api):
    first = noc_api.get("/api/vhids/")
    etag = first["ETag"]

    same = noc_api.get("/api/vhids/", HTTP_IF_NONE_MATCH=etag)
    CarpVhid.objects.filter(host__name="fw-a1").update(state="BACKUP")
    changed = noc_api.get("/api/vhids/", HTTP_IF_NONE_MATCH=etag)

    assert same.status_code == 304 and same.content == b""
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_pools_and_mirrors_carry_their_devices_and_rebuild_progress(fleet, noc_api):
    pool = noc_api.get(f"/api/pools/{fleet['a']['pool'].pk}/").json()
    mirror = noc_api.get(f"/api/mirrors/{fleet['a']['mirror'].pk}/").json()

    assert pool["devices"][0]["name"] == "ada0p3"
    assert mirror["components"] == [
        {"name": "ada1", "state": "SYNCHRONIZING", "flags": [], "synchronized_pct": 42}
    ]
