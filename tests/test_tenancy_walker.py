"""Tenancy by enumeration (RELIABILITY D2) and role separation (D4), over the whole URLconf.

The walker lists every named route. Each one is in exactly one class:
- PUBLIC: no login or its own token (login, health, e-mailed ack links);
- STAFF (NOC/on-call namespaces, the operations app, the jail approval queue): a customer
  user gets 403 on every one of them, GET and POST, for another tenant's id and for a
  missing id alike, and nothing is created or changed (D4);
- ADMIN: the Django admin sends a customer to its login page, never an object;
- everything else (the portal, its partials and forms, the token page) must have a CASE
  below when it takes an object id: customer A asks for customer B's object and gets 404,
  the same 404 as for an id that does not exist, and a write changes nothing (D2);
- the REST API (namespace `api`) is walked the same way by tests/api/test_tenancy.py with a
  customer token, which fails on any /api/ id route it does not cover (DELEGATED below).
A new id-bearing route without a case fails `test_every_id_bearing_route_has_a_tenancy_case`,
so nobody can add one without saying how its tenancy is tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import URLResolver, get_resolver, reverse

from customers.models import JailRequest
from tests.customers.conftest import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

PUBLIC = {"home", "login", "logout", "healthz", "alerts:ack-link"}
STAFF_NAMESPACES = {"hosts", "alerts", "jailqueue", "operations"}
# Namespaces whose tenancy walk lives elsewhere, with its own "every id route is covered".
DELEGATED = {"api": "tests/api/test_tenancy.py::test_every_id_route_of_the_api_is_covered_here"}
ID_CONVERTERS = {"IntConverter", "UUIDConverter"}
MISSING = 987654321


def _params(pattern) -> list[tuple[str, str]]:
    converters = getattr(pattern, "converters", None)
    if converters is not None and (converters or not pattern.regex.groupindex):
        return [(k, type(v).__name__) for k, v in converters.items()]
    return [(k, "regex") for k in pattern.regex.groupindex]


@dataclass(frozen=True)
class Route:
    name: str
    params: tuple[tuple[str, str], ...]
    defaults: tuple

    @property
    def namespace(self) -> str:
        return self.name.split(":", 1)[0] if ":" in self.name else ""

    @property
    def id_params(self) -> list[str]:
        return [
            k
            for k, conv in self.params
            if conv in ID_CONVERTERS or k in ("pk", "id", "object_id") or k.endswith("_id")
        ]


def routes() -> list[Route]:
    out = []

    def walk(patterns, ns=(), params=()):
        for p in patterns:
            here = params + tuple(_params(p.pattern))
            if isinstance(p, URLResolver):
                walk(p.url_patterns, ns + ((p.namespace,) if p.namespace else ()), here)
            elif p.name:
                out.append(Route(":".join((*ns, p.name)), here, tuple(sorted(p.default_args))))

    walk(get_resolver().url_patterns)
    return out


def url_for(route: Route, value) -> str:
    kwargs = {}
    for name, conv in route.params:
        if name in route.defaults:
            continue
        if name in route.id_params:
            kwargs[name] = value
        elif conv == "IntConverter":
            kwargs[name] = 1
        else:
            kwargs[name] = "x"
    return reverse(route.name, kwargs=kwargs)


# --- the registry of portal (and API) cases ------------------------------------------------


@dataclass(frozen=True)
class Case:
    """How to reach customer B's object on one route, and how to see it changed."""

    target: Callable  # (b) -> the id of B's object
    method: str = "get"
    state: Callable | None = None  # (b) -> a value that a write would change
    headers: tuple = ()
    admin: bool = False  # the route is for customer admins: A asks as an admin
    data: tuple = ()  # what a real write would send


def _b_jail_state(b):
    from operations.models import Operation

    return (Operation.objects.count(), type(b.jail).objects.get(pk=b.jail.pk).running)


def _b_user_state(b):
    user = type(b.user).objects.get(pk=b.user.pk)
    return (user.is_active, user.membership.customer_id, user.membership.role)


def _b_token_state(b):
    from api.models import ApiToken

    return tuple(ApiToken.objects.filter(pk=b.token.pk).values_list("revoked_at", flat=True))


def _b_request_state(b):
    return tuple(JailRequest.objects.filter(pk=b.request.pk).values_list("status", "status_text"))


def _an_operation(b):
    """Operations belong to no tenant: a customer sees none, so any id is a 404."""
    from operations.models import Operation

    op, _ = Operation.objects.get_or_create(
        kind="backup-now", target_label="walker", defaults={"requested_by_name": "noc"}
    )
    return op.pk


def _operations_state(b):
    from operations.models import Operation

    _an_operation(b)
    return sorted(Operation.objects.values_list("pk", "state"))


HTMX = (("HTTP_HX_REQUEST", "true"),)
CASES: dict[str, Case] = {
    "customers:host": Case(lambda b: b.host.pk),
    "customers:request": Case(lambda b: b.request.pk),
    "customers:request-status": Case(lambda b: b.request.pk, headers=HTMX),
    "customers:request-cancel": Case(lambda b: b.request.pk, method="post", state=_b_request_state),
    "customers:jail-action": Case(
        lambda b: b.jail.pk,
        method="post",
        state=lambda b: _b_jail_state(b),
        data=(("action", "stop"),),
    ),
    "customers:jail-destroy": Case(
        lambda b: b.jail.pk,
        method="post",
        state=lambda b: _b_jail_state(b),
        data=(("confirm", "secret"),),
    ),
    "customers:jail-resize": Case(
        lambda b: b.jail.pk,
        method="post",
        state=lambda b: _b_jail_state(b),
        data=(("size_gb", "20"),),
    ),
    "api-token-revoke": Case(lambda b: b.token.pk, method="post", state=_b_token_state),
    "customers:team-remove": Case(
        lambda b: b.user.pk, method="post", state=lambda b: _b_user_state(b), admin=True
    ),
    "api:operation-detail": Case(_an_operation),
    "api:operation-approve": Case(_an_operation, method="post", state=_operations_state),
    "api:operation-cancel": Case(_an_operation, method="post", state=_operations_state),
    "api:jail-request-detail": Case(lambda b: b.request.pk),
    "api:jail-request-approve": Case(lambda b: b.request.pk, method="post", state=_b_request_state),
    "api:jail-request-reject": Case(
        lambda b: b.request.pk,
        method="post",
        state=_b_request_state,
        data=(("reason", "no"),),
    ),
}


@dataclass
class B:
    host: object
    jail: object
    request: JailRequest
    user: object
    token: object


@pytest.fixture
def b_objects(world, customer_b, customer_b_user):  # noqa: F811
    req = JailRequest.objects.create(
        customer=customer_b, requested_by=customer_b_user, purpose="staging", name="bsecret",
        hostname="bsecret.b.example", size_gb=1, ip="203.0.113.10", host=world.b_host,
    )  # fmt: skip
    from api.tokens import create_token

    token, _plaintext = create_token(customer_b_user, name="b's script")
    return B(world.b_host, world.b_jail, req, customer_b_user, token)


def customer_routes() -> list[Route]:
    return [
        r
        for r in routes()
        if r.name not in PUBLIC
        and r.namespace not in STAFF_NAMESPACES
        and r.namespace not in DELEGATED
        and not r.name.startswith("admin:")
    ]


def walked_id_routes() -> list[Route]:
    """The customer routes with an id, plus the delegated ones that also have a case here
    (the API's operations and jail requests are walked by both)."""
    extra = [r for r in routes() if r.namespace in DELEGATED and r.name in CASES]
    return [r for r in customer_routes() if r.id_params] + extra


def test_every_id_bearing_route_has_a_tenancy_case():
    missing = [r.name for r in customer_routes() if r.id_params and r.name not in CASES]

    assert missing == [], f"add a tenancy case to CASES for: {missing}"


def test_delegated_walks_exist_and_cover_their_namespace():
    """The API's own walk must exist and see the API's id routes, or delegating is a hole."""
    from tests.api.test_tenancy import api_id_routes

    assert "api" in {r.namespace for r in routes()}
    assert api_id_routes(), "the API walk finds no /api/ id routes"


def test_the_walker_sees_the_routes_it_must():
    names = {r.name for r in routes()}

    assert {
        "customers:host",
        "customers:request-cancel",
        "hosts:host",
        "jailqueue:approve",
    } <= names
    assert "customers:request" in {r.name for r in customer_routes() if r.id_params}


@pytest.mark.parametrize("route", walked_id_routes(), ids=lambda r: r.name)
def test_another_customers_object_is_the_same_404_as_a_missing_one(
    client, b_objects, customer_a_user, route
):
    case = CASES[route.name]
    before = case.state(b_objects) if case.state else None
    if case.admin:
        customer_a_user.membership.role = "admin"
        customer_a_user.membership.save()
    client.force_login(customer_a_user)
    send = getattr(client, case.method)

    theirs = send(url_for(route, case.target(b_objects)), dict(case.data), **dict(case.headers))
    missing = send(url_for(route, MISSING), dict(case.data), **dict(case.headers))

    assert theirs.status_code == 404
    assert (missing.status_code, missing.content) == (theirs.status_code, theirs.content)
    if case.state:
        assert case.state(b_objects) == before


@pytest.mark.parametrize(
    "route", [r for r in customer_routes() if not r.id_params], ids=lambda r: r.name
)
def test_lists_and_partials_show_none_of_another_customers_identifiers(
    client, b_objects, customer_a_user, route
):
    client.force_login(customer_a_user)

    response = client.get(url_for(route, None), HTTP_HX_REQUEST="true")
    body = response.content.decode()

    for identifier in ("jh-b1", "secret.b.example", "bsecret", "203.0.113.", "Customer B"):
        assert identifier not in body, f"{route.name} shows {identifier!r}"


@pytest.mark.parametrize(
    "route",
    [r for r in routes() if r.namespace in STAFF_NAMESPACES and r.name not in PUBLIC],
    ids=lambda r: r.name,
)
def test_customers_get_403_on_every_noc_and_operations_route(
    client, b_objects, customer_a_user, route
):
    """D4, for reads and writes; nothing is created by the attempt."""
    from operations.models import Operation

    client.force_login(customer_a_user)
    before = list(JailRequest.objects.values_list("pk", "status").order_by("pk"))
    ops_before = Operation.objects.count()

    for value in (b_objects.host.pk, MISSING):
        url = url_for(route, value)
        assert client.get(url).status_code == 403, f"GET {url}"
        assert client.post(url, {"reason": "x", "host": ""}).status_code == 403, f"POST {url}"

    assert list(JailRequest.objects.values_list("pk", "status").order_by("pk")) == before
    assert Operation.objects.count() == ops_before


def test_the_admin_sends_customers_to_its_login(client, b_objects, customer_a_user):
    client.force_login(customer_a_user)

    response = client.get(f"/admin/customers/jailrequest/{b_objects.request.pk}/change/")

    assert response.status_code == 302 and "/admin/login/" in response.url
