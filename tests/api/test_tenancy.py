"""A customer token sees its own company only: another tenant's id is a 404 on every detail
route (the same 404 as an id that does not exist), and lists hold none of its rows."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from alerts.models import Alert

pytestmark = pytest.mark.django_db

# route prefix under /api/ -> the key of the tenant fleet fixture holding that object
DETAIL_ROUTES = {
    "customers": "customer",
    "sites": "site",
    "hosts": "hosts",
    "clusters": "cluster",
    "backup-jobs": "job",
    "cluster-health": "cluster",
    "vhids": "vhid",
    "pools": "pool",
    "mirrors": "mirror",
    "jails": "jail",
    "backends": "backend",
    "backup-runs": "run",
    "findings": "finding",
    "events": "event",
    "alerts": "alert",
}
STAFF_ONLY = {"integrations/alertmanager-receivers", "webhooks"}


def _obj(tenant: dict, key: str):
    value = tenant[key]
    return value[0] if isinstance(value, list) else value


def api_id_routes() -> set[str]:
    """Every /api/ route pattern with an <int:pk>, from the URLconf itself."""
    found = set()

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if route.startswith("api/") and "<int:pk>" in route:
                    found.add(route)

    walk(get_resolver().url_patterns, "")
    return found


def test_every_id_route_of_the_api_is_covered_here():
    covered = {f"api/{r}/<int:pk>/" for r in DETAIL_ROUTES}
    covered |= {"api/alerts/<int:pk>/ack/", "api/alerts/<int:pk>/resolve/"}
    covered |= {f"api/{r}/<int:pk>/" for r in STAFF_ONLY}
    covered |= {"api/integrations/alertmanager/<int:pk>/", "api/webhooks/<int:pk>/deliveries/"}
    # Operations (customers: 404 on every id) and jail requests (another tenant's: 404):
    # below, and in test_operations_api.py.
    covered |= {f"api/operations/<int:pk>/{a}" for a in ("", "approve/", "cancel/")}
    covered |= {f"api/jail-requests/<int:pk>/{a}" for a in ("", "approve/", "reject/")}

    assert api_id_routes() <= covered, api_id_routes() - covered


@pytest.mark.parametrize("route, key", sorted(DETAIL_ROUTES.items()))
def test_customer_gets_its_own_object_and_404_for_the_other_tenants(
    route, key, fleet, customer_a_api
):
    own, other = _obj(fleet["a"], key), _obj(fleet["b"], key)

    assert customer_a_api.get(f"/api/{route}/{own.pk}/").status_code == 200
    response = customer_a_api.get(f"/api/{route}/{other.pk}/")
    missing = customer_a_api.get(f"/api/{route}/999999/")

    assert response.status_code == 404
    assert response.json() == missing.json()


@pytest.mark.parametrize("route, key", sorted(DETAIL_ROUTES.items()))
def test_lists_hold_none_of_the_other_tenants_rows(route, key, fleet, customer_a_api):
    other = _obj(fleet["b"], key)

    response = customer_a_api.get(f"/api/{route}/", {"limit": 1000})

    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert _obj(fleet["a"], key).pk in ids
    assert other.pk not in ids
    assert "fw-b1" not in response.content.decode()


@pytest.mark.parametrize("route", ["hosts", "clusters", "customers", "sites", "backup-jobs"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_customer_writes_are_403_on_its_own_objects_and_404_on_others(
    route, method, fleet, customer_a_api
):
    key = DETAIL_ROUTES[route]
    own, other = _obj(fleet["a"], key), _obj(fleet["b"], key)
    write = getattr(customer_a_api, method)

    assert write(f"/api/{route}/{own.pk}/", {}, format="json").status_code == 403
    on_other = write(f"/api/{route}/{other.pk}/", {"name": "taken"}, format="json")
    on_missing = write(f"/api/{route}/999999/", {"name": "taken"}, format="json")
    assert customer_a_api.post(f"/api/{route}/", {}, format="json").status_code == 403

    assert on_other.status_code == 404 and on_other.json() == on_missing.json()
    before = str(other)
    other.refresh_from_db()
    assert str(other) == before


@pytest.mark.parametrize("action", ["ack", "resolve"])
def test_customer_cannot_handle_alerts(action, fleet, customer_a_api):
    own, other = fleet["a"]["alert"], fleet["b"]["alert"]

    assert customer_a_api.post(f"/api/alerts/{own.pk}/{action}/", {}).status_code == 403
    assert customer_a_api.post(f"/api/alerts/{other.pk}/{action}/", {}).status_code == 404
    assert set(Alert.objects.values_list("state", flat=True)) == {"firing"}


def test_customer_sees_no_alertmanager_receivers(fleet, customer_a_api, noc_api):
    created = noc_api.post(
        "/api/integrations/alertmanager-receivers/", {"name": "prom"}, format="json"
    )
    assert created.status_code == 201

    url = f"/api/integrations/alertmanager-receivers/{created.json()['id']}/"
    assert customer_a_api.get(url).status_code == 403
    assert customer_a_api.get("/api/integrations/alertmanager-receivers/").status_code == 403


def test_filtering_by_another_tenants_slug_matches_nothing(fleet, customer_a_api):
    response = customer_a_api.get("/api/hosts/", {"customer": "customer-b"})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_customer_does_not_see_the_root_cause_id_of_its_alerts(fleet, customer_a_api):
    alert = fleet["a"]["alert"]
    alert.parent = fleet["b"]["alert"]
    alert.save()

    body = customer_a_api.get(f"/api/alerts/{alert.pk}/").json()

    assert "parent_id" not in body


def test_customer_sees_no_webhooks_nor_their_deliveries(fleet, customer_a_api, noc_api):
    created = noc_api.post(
        "/api/webhooks/",
        {"name": "siem", "url": "https://siem.example.net/h", "event_types": ["alert"]},
        format="json",
    ).json()

    for url in (
        "/api/webhooks/",
        f"/api/webhooks/{created['id']}/",
        f"/api/webhooks/{created['id']}/deliveries/",
    ):
        assert customer_a_api.get(url).status_code == 403


def test_customers_do_not_get_the_ssh_coordinates_of_their_hosts(fleet, customer_a_api, noc_api):
    host = fleet["a"]["hosts"][0]

    theirs = customer_a_api.get(f"/api/hosts/{host.pk}/").json()
    ours = noc_api.get(f"/api/hosts/{host.pk}/").json()

    hidden = ("address", "ssh_port", "ssh_user", "credential", "host_key", "host_key_fingerprint")
    assert all(theirs[f] is None for f in hidden)
    assert ours["address"] == "127.0.0.1" and ours["credential"] == "ops"
    assert theirs["name"] == "fw-a1" and theirs["reachability"] == "ok"


@pytest.mark.parametrize("suffix", ["", "approve/", "reject/"])
def test_another_tenants_jail_request_is_a_404_on_every_route(
    suffix, fleet, customer_b, customer_b_user, customer_a_api
):
    from customers.models import JailRequest

    theirs = JailRequest.objects.create(
        customer=customer_b, requested_by=customer_b_user, purpose="staging", name="bsecret",
        hostname="bsecret.b.example", size_gb=1, ip="203.0.113.10",
    )  # fmt: skip
    send = customer_a_api.post if suffix else customer_a_api.get

    response = send(f"/api/jail-requests/{theirs.pk}/{suffix}", {"reason": "x"})
    missing = send(f"/api/jail-requests/999999/{suffix}", {"reason": "x"})

    assert response.status_code == 404 and response.json() == missing.json()
    theirs.refresh_from_db()
    assert theirs.status == "pending"
