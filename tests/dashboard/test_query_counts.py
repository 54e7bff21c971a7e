"""The overview, every partial and the drill-downs run the same number of SQL queries for a
10-host fleet as for a 500-host one (CONVENTIONS.md §13): when the widgets are computed (a
new generation, an empty cache) and when they come from the dashboard cache."""

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from hosts.dashboard import cache as dashboard_cache
from hosts.models import BackupJob, Cluster, HaproxyBackend, Host, Mirror, ZPool
from hosts.views import WIDGETS
from tests.dashboard.factories import ZPoolDeviceFactory, seed_fleet

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def routes(first) -> list[tuple[str, dict]]:
    cluster = Cluster.objects.get(pk=first["cluster"])
    return [
        (reverse("hosts:overview"), {}),
        (reverse("hosts:overview") + "?customer=cust-0&health=problems", {}),
        (reverse("hosts:search") + "?q=fir", {}),
        *((reverse(f"hosts:widget-{name}"), HTMX) for name in WIDGETS),
        (reverse("hosts:cluster", args=[cluster.pk]), {}),
        (reverse("hosts:cluster-health", args=[cluster.pk]), HTMX),
        (reverse("hosts:host", args=[first["host"]]), {}),
        (reverse("hosts:host-status", args=[first["host"]]), HTMX),
        (reverse("hosts:pool", args=[first["pool"]]), {}),
        (reverse("hosts:mirror", args=[first["mirror"]]), {}),
        (reverse("hosts:backend", args=[first["backend"]]), {}),
        (reverse("hosts:backup-job", args=[first["job"]]), {}),
        (reverse("hosts:customer", args=[first["customer"]]), {}),
    ]


def count(client, url, extra) -> tuple[int, int]:
    """Queries of the route computed from the rows, then served from the cache."""
    client.get(url, **extra)  # warm-up: session and role look-ups happen once per request
    cache.clear()
    dashboard_cache.clear()
    counted = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, **extra)
        assert response.status_code == 200, url
        counted.append(len(ctx))
    return counted[0], counted[1]


def test_every_dashboard_route_runs_constant_queries_from_10_to_500_hosts(client, noc_user):
    # Time stands still so the cache's epoch cannot roll over between the counted requests.
    with time_machine.travel(timezone.now(), tick=False):
        _count_every_route(client, noc_user)


def _count_every_route(client, noc_user):
    seed_fleet(10)
    first = {
        "cluster": Cluster.objects.order_by("pk").first().pk,
        "host": Host.objects.order_by("pk").first().pk,
        "pool": ZPool.objects.order_by("pk").first().pk,
        "mirror": Mirror.objects.order_by("pk").first().pk,
        "backend": HaproxyBackend.objects.order_by("pk").first().pk,
        "job": BackupJob.objects.order_by("pk").first().pk,
        "customer": Customer.objects.order_by("pk").first().pk,
    }
    ZPoolDeviceFactory(pool=ZPool.objects.get(pk=first["pool"]), cksum_errors=2)
    client.force_login(noc_user)
    small = {url: count(client, url, extra) for url, extra in routes(first)}

    seed_fleet(490)
    large = {url: count(client, url, extra) for url, extra in routes(first)}

    assert Host.objects.count() == 500
    assert large == small
    widgets = [reverse(f"hosts:widget-{name}") for name in WIDGETS] + [reverse("hosts:overview")]
    for url in widgets:
        computed, cached = small[url]
        assert cached < computed, url  # the cache answers without the widgets' queries
