"""The dashboard's shared cache is Redis in a deployment (CACHE_URL). When Redis cannot be
reached, every NOC page and widget is still served (RELIABILITY A5: web requests during a
Redis outage never 500): each web process computes the widgets itself and says so in the
log; a builder's own error is not hidden by the fallback."""

import pytest
from django.test import override_settings
from django.urls import reverse

from hosts.dashboard import cache as dashboard_cache
from hosts.views import WIDGETS
from tests.dashboard.factories import firewall_pair

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every look-up is refused at once.
UNREACHABLE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}


@override_settings(CACHES=UNREACHABLE)
def test_with_redis_down_the_overview_and_every_widget_are_served(client, noc_user, caplog):
    cluster, _a, _b = firewall_pair("fw1")
    client.force_login(noc_user)

    assert client.get(reverse("hosts:overview")).status_code == 200
    for name in WIDGETS:
        assert client.get(reverse(f"hosts:widget-{name}"), **HTMX).status_code == 200, name
    assert client.get(reverse("hosts:cluster-health", args=[cluster.pk]), **HTMX).status_code == 200
    assert "Dashboard cache unreachable" in caplog.text


@override_settings(CACHES=UNREACHABLE)
def test_with_redis_down_a_computed_widget_is_kept_by_the_process():
    computed = []

    def compute():
        computed.append(1)
        return {"rows": []}

    first = dashboard_cache.remember("nyiops:test:outage", compute)
    again = dashboard_cache.remember("nyiops:test:outage", compute)

    assert first is again and len(computed) == 1


@override_settings(CACHES=UNREACHABLE)
def test_with_redis_down_a_builders_error_still_raises():
    def broken():
        raise ValueError("builder bug")

    with pytest.raises(ValueError, match="builder bug"):
        dashboard_cache.remember("nyiops:test:broken", broken)
