"""The demo seeds the Initech user and one pending staging-twin request, idempotently."""

import pytest
from django.core.management import CommandError, call_command

from customers.models import JailRequest
from tests.customers.conftest import jail_host
from tests.dashboard.factories import JailFactory
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_requests_makes_one_pending_twin_request(db):
    initech = CustomerFactory(
        slug="initech", name="Initech", sla_tier="platinum", ip_ranges=["198.51.100.128/26"]
    )
    app1 = jail_host("app1", initech)
    JailFactory(host=app1, name="shop-production", ipv4=["198.51.100.141/32"])

    call_command("seed_demo_requests")
    call_command("seed_demo_requests")

    req = JailRequest.objects.get()
    assert (req.status, req.purpose, req.twin_of_label) == (
        "pending",
        "twin",
        "app1:shop-production",
    )
    assert req.requested_by.username == "initech" and req.ip == "198.51.100.137"


def test_seed_demo_requests_says_when_the_source_is_not_polled_yet(db):
    CustomerFactory(slug="initech", ip_ranges=["198.51.100.128/26"])

    with pytest.raises(CommandError, match="poll app1 first"):
        call_command("seed_demo_requests")
