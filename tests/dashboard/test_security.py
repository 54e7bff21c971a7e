"""NOC pages are for staff only, GETs never write, host-supplied text is always escaped, and
the pages keep to the CSP (no inline script, handler or style)."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hosts.models import Host
from hosts.views import WIDGETS
from tests.dashboard.factories import (
    BackupRunFactory,
    HaproxyBackendFactory,
    HaproxyServerFactory,
    JailFactory,
    MirrorFactory,
    ZPoolFactory,
    firewall_pair,
)
from tests.factories import (
    BackupJobFactory,
    ClusterFactory,
    ClusterMemberFactory,
    make_public_key_line,
)
from tests.otp import step_up

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
PAYLOADS = ("<img src=x onerror=alert(1)>", '"><script>alert(1)</script>')


@pytest.fixture
def fleet(customer_a):
    cluster, a, _b = firewall_pair("fw1", customer=customer_a)
    backend = HaproxyBackendFactory(host=a)
    job = BackupJobFactory(source=a)
    BackupRunFactory(job=job)
    return {
        "cluster": cluster,
        "host": a,
        "pool": ZPoolFactory(host=a),
        "mirror": MirrorFactory(host=a),
        "backend": backend,
        "job": job,
        "customer": customer_a,
    }


def get_routes(objs) -> list[tuple[str, dict]]:
    return [
        (reverse("hosts:overview"), {}),
        (reverse("hosts:overview") + "?wall=1", {}),
        (reverse("hosts:search") + "?q=a", {}),
        (reverse("hosts:inventory"), {}),
        *((reverse(f"hosts:widget-{name}"), HTMX) for name in WIDGETS),
        (reverse("hosts:cluster", args=[objs["cluster"].pk]), {}),
        (reverse("hosts:cluster-health", args=[objs["cluster"].pk]), HTMX),
        (reverse("hosts:host", args=[objs["host"].pk]), {}),
        (reverse("hosts:host-status", args=[objs["host"].pk]), HTMX),
        (reverse("hosts:pool", args=[objs["pool"].pk]), {}),
        (reverse("hosts:mirror", args=[objs["mirror"].pk]), {}),
        (reverse("hosts:backend", args=[objs["backend"].pk]), {}),
        (reverse("hosts:backup-job", args=[objs["job"].pk]), {}),
        (reverse("hosts:customer", args=[objs["customer"].pk]), {}),
    ]


ID_ROUTES = [
    ("hosts:cluster", "cluster"),
    ("hosts:cluster-health", "cluster"),
    ("hosts:host", "host"),
    ("hosts:host-status", "host"),
    ("hosts:pool", "pool"),
    ("hosts:mirror", "mirror"),
    ("hosts:backend", "backend"),
    ("hosts:backup-job", "job"),
    ("hosts:customer", "customer"),
]


def test_customer_user_gets_403_on_every_noc_page_and_partial(client, customer_a_user, fleet):
    client.force_login(customer_a_user)

    for url, extra in get_routes(fleet):
        assert client.get(url, **extra).status_code == 403, url


def test_anonymous_user_is_sent_to_login_from_every_noc_page(client, fleet):
    for url, extra in get_routes(fleet):
        response = client.get(url, **extra)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


@pytest.mark.parametrize("route,_kind", ID_ROUTES)
def test_unknown_ids_are_404(client, noc_user, route, _kind):
    client.force_login(noc_user)

    assert client.get(reverse(route, args=[987654]), **HTMX).status_code == 404


def test_get_routes_write_nothing_to_the_database(client, noc_user, fleet):
    client.force_login(noc_user)
    for url, extra in get_routes(fleet):
        client.get(url, **extra)  # first visit may create nothing either, but warm up anyway
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, **extra).status_code == 200, url
        writes = [
            q["sql"]
            for q in ctx.captured_queries
            if re.match(r"\s*(INSERT|UPDATE|DELETE|REPLACE)", q["sql"], re.I)
        ]
        assert writes == [], url


def test_pages_carry_csp_and_use_no_inline_script_handler_or_style(client, noc_user, fleet):
    client.force_login(noc_user)
    for url, extra in get_routes(fleet):
        response = client.get(url, **extra)
        html = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"], url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url


def test_host_supplied_text_is_escaped_in_every_page_and_partial(client, noc_user, customer_a):
    bad_jail, bad_server = PAYLOADS
    cluster, a, b = firewall_pair("fwx", customer=customer_a)
    Host.objects.filter(pk=b.pk).update(name=bad_server, reachability="unknown")
    js = ClusterFactory(name="jails", kind="jail-service", customer=customer_a)
    ClusterMemberFactory(cluster=js, host=a)
    JailFactory(host=a, name=bad_jail, hostname=bad_server)
    backend = HaproxyBackendFactory(host=a, name=bad_jail)
    HaproxyServerFactory(backend=backend, name=bad_server)
    a.carp_vhids.update(interface=bad_jail)
    job = BackupJobFactory(source=a)
    BackupRunFactory(job=job, error_lines=[bad_server])
    objs = {
        "cluster": cluster,
        "host": a,
        "pool": ZPoolFactory(host=a, status=bad_jail),
        "mirror": MirrorFactory(host=a, name=bad_server),
        "backend": backend,
        "job": job,
        "customer": customer_a,
    }
    client.force_login(noc_user)
    for url, extra in [*get_routes(objs), (reverse("hosts:search") + "?q=onerror", {})]:
        html = client.get(url, **extra).content.decode()
        for payload in PAYLOADS:
            assert payload not in html, url
        assert "<img src=x" not in html and "<script>alert" not in html, url
    host_page = client.get(reverse("hosts:host", args=[a.pk])).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in host_page
    backend_page = client.get(reverse("hosts:backend", args=[backend.pk])).content.decode()
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in backend_page


# --- host-key approval ----------------------------------------------------------------------


@pytest.fixture
def offering_host(db):
    _c, host, _b = firewall_pair("fwk")
    host.offered_key_type, host.offered_key_base64 = make_public_key_line().split()[:2]
    host.save()
    return host


def test_noc_can_approve_an_offered_host_key_from_the_host_page(client, noc_user, offering_host):
    client.force_login(noc_user)
    step_up(client, noc_user)
    page = client.get(reverse("hosts:host", args=[offering_host.pk])).content.decode()
    assert "Approve this key" in page and offering_host.offered_key_fingerprint in page

    response = client.post(
        reverse("hosts:host-key", args=[offering_host.pk]),
        {"decision": "approve", "fingerprint": offering_host.offered_key_fingerprint},
    )

    offering_host.refresh_from_db()
    assert response.status_code == 302
    assert offering_host.host_key_base64 and not offering_host.offered_key_base64


def test_noc_can_reject_an_offered_host_key(client, noc_user, offering_host):
    client.force_login(noc_user)
    step_up(client, noc_user)

    client.post(reverse("hosts:host-key", args=[offering_host.pk]), {"decision": "reject"})

    offering_host.refresh_from_db()
    assert not offering_host.offered_key_base64 and not offering_host.host_key_base64


def test_approval_of_a_key_other_than_the_one_shown_is_refused(client, noc_user, offering_host):
    client.force_login(noc_user)
    step_up(client, noc_user)

    response = client.post(
        reverse("hosts:host-key", args=[offering_host.pk]),
        {"decision": "approve", "fingerprint": "SHA256:not-what-is-offered"},
        follow=True,
    )

    offering_host.refresh_from_db()
    assert not offering_host.host_key_base64
    assert "look again" in response.content.decode()


@pytest.mark.parametrize("persona", ["oncall_user", "customer_a_user"])
def test_only_noc_may_decide_host_keys(client, request, persona, offering_host):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        reverse("hosts:host-key", args=[offering_host.pk]), {"decision": "approve"}
    )

    offering_host.refresh_from_db()
    assert response.status_code == 403 and not offering_host.host_key_base64


def test_host_key_decision_needs_post_and_a_csrf_token(noc_user, offering_host):
    client = Client(enforce_csrf_checks=True)
    client.force_login(noc_user)
    url = reverse("hosts:host-key", args=[offering_host.pk])

    assert client.get(url).status_code == 405
    assert client.post(url, {"decision": "approve"}).status_code == 403
    offering_host.refresh_from_db()
    assert not offering_host.host_key_base64
