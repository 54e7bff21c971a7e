"""A small jail world for the request, placement and portal tests.

Customer A (gold, 198.51.100.0/28: .1-.8 reserved, .9-.14 usable) has two jail hosts in
nyc1 with a 1 TiB zroot pool each, and a production jail `shop` on jh-a1 at .9. Customer B
has its own jail host and jail: the outsider's objects every tenancy test reaches for."""

from dataclasses import dataclass

import pytest

from hosts.models import Host, Jail
from tests.dashboard.factories import FreshHostFactory, JailFactory, ZPoolFactory
from tests.factories import SiteFactory

TIB = 2**40


@dataclass
class World:
    a_host1: Host
    a_host2: Host
    a_shop: Jail
    b_host: Host
    b_jail: Jail


def jail_host(name, customer, *, used_pct=25, site=None):
    host = FreshHostFactory(name=name, customer=customer, roles=["jailhost"], site=site)
    ZPoolFactory(
        host=host,
        name="zroot",
        size=TIB,
        alloc=TIB * used_pct // 100,
        free=TIB - TIB * used_pct // 100,
        cap_pct=used_pct,
    )
    return host


@pytest.fixture
def world(customer_a, customer_b):
    customer_a.sla_tier, customer_a.ip_ranges = "gold", ["198.51.100.0/28"]
    customer_a.contacts = [{"name": "Ann Ops", "email": "ops@a.example"}]
    customer_a.save()
    customer_b.ip_ranges = ["203.0.113.0/28"]
    customer_b.save()
    site = SiteFactory()
    a1 = jail_host("jh-a1", customer_a, used_pct=40, site=site)
    a2 = jail_host("jh-a2", customer_a, used_pct=20, site=site)
    shop = JailFactory(
        host=a1, name="shop", hostname="shop.a.example", ipv4=["198.51.100.9"], running=True
    )
    b = jail_host("jh-b1", customer_b, site=site)
    b_jail = JailFactory(host=b, name="secret", hostname="secret.b.example", ipv4=["203.0.113.9"])
    return World(a1, a2, shop, b, b_jail)
