"""The placement preview: computed from observed state only, problems named by field."""

import pytest

from customers.choices import Affinity
from portal import placement
from tests.dashboard.factories import JailFactory

pytestmark = pytest.mark.django_db
GIB = 2**30


def test_preview_picks_the_roomiest_host_and_the_next_free_address(world, customer_a):
    preview = placement.compute(customer_a, size_gb=20)

    assert preview.ok
    assert preview.host == "jh-a2"  # 20% used beats 40%
    assert preview.ip == "198.51.100.10"  # .1-.8 reserved, .9 is shop's
    assert preview.ip_source == "next free"
    chosen = next(c for c in preview.candidates if c.host == "jh-a2")
    assert chosen.free_after == chosen.pool_free - 20 * GIB
    assert [c.jails for c in preview.candidates] == [("shop",), ()]


def test_preview_lists_only_the_customers_own_jail_hosts(world, customer_a):
    preview = placement.compute(customer_a, size_gb=5)

    assert {c.host for c in preview.candidates} == {"jh-a1", "jh-a2"}


def test_twin_on_the_same_host_when_asked(world, customer_a):
    preview = placement.compute(
        customer_a, size_gb=5, twin_of=world.a_shop, affinity=Affinity.SAME_HOST
    )

    assert preview.host == "jh-a1"
    assert "shop runs on jh-a1" in preview.affinity_note


def test_a_twin_cannot_go_to_another_host_it_is_a_clone(world, customer_a):
    preview = placement.compute(
        customer_a, size_gb=5, twin_of=world.a_shop, affinity=Affinity.OTHER_HOST
    )

    assert "runs on the source's host (jh-a1)" in dict(preview.problems)["affinity"]


def test_a_twin_goes_to_its_sources_host_even_if_another_has_more_room(world, customer_a):
    preview = placement.compute(customer_a, size_gb=5, twin_of=world.a_shop)

    assert preview.ok and preview.host == "jh-a1"


def test_a_pool_pushed_past_the_judges_capacity_warning_does_not_fit(world, customer_a):
    # 1 TiB pools: jh-a1 is 40% used, jh-a2 20%; 450 GiB more makes 84% and 64%
    cands = {c.host: c for c in placement.candidates(customer_a, 450)}

    assert not cands["jh-a1"].fits
    assert cands["jh-a1"].reason == "pool zroot would be 84% full (limit 80%)"
    assert cands["jh-a2"].fits and cands["jh-a2"].cap_after_pct == 64


def test_a_pool_without_the_room_says_how_much_is_free(world, customer_a):
    cands = {c.host: c for c in placement.candidates(customer_a, 900)}

    assert cands["jh-a2"].reason == "pool zroot has 819 GiB free, 900 GiB asked"


def test_an_unreachable_host_does_not_fit(world, customer_a):
    world.a_host2.reachability = "unknown"
    world.a_host2.save()

    preview = placement.compute(customer_a, size_gb=5)

    assert preview.host == "jh-a1"
    assert "not reachable" in next(c for c in preview.candidates if c.host == "jh-a2").reason


def test_requested_address_outside_the_range_is_a_problem_on_ip(world, customer_a):
    preview = placement.compute(customer_a, size_gb=5, ip="203.0.113.20")

    assert dict(preview.problems)["ip"].startswith("203.0.113.20 is outside your address ranges")


def test_requested_address_in_use_by_a_jail_is_a_problem_on_ip(world, customer_a):
    preview = placement.compute(customer_a, size_gb=5, ip="198.51.100.9")

    assert dict(preview.problems)["ip"] == "198.51.100.9 is already in use."


def test_reserved_addresses_are_refused(world, customer_a):
    preview = placement.compute(customer_a, size_gb=5, ip="198.51.100.1")

    assert "reserved" in dict(preview.problems)["ip"]


def test_no_free_address_left(world, customer_a):
    for n in range(10, 15):
        JailFactory(host=world.a_host2, name=f"j{n}", ipv4=[f"198.51.100.{n}/32"])

    preview = placement.compute(customer_a, size_gb=5)

    assert dict(preview.problems)["ip"] == "No free address is left in your ranges."


def test_tier_limits_are_problems_on_size(world, customer_a):
    preview = placement.compute(customer_a, size_gb=101)  # gold: at most 100 GiB a jail

    assert dict(preview.problems)["size_gb"] == "Your Gold tier allows at most 100 GiB a jail."


def test_changes_reports_what_moved_since_the_stored_preview(world, customer_a):
    stored = placement.stored_form(placement.compute(customer_a, size_gb=5))
    JailFactory(host=world.a_host2, name="late", ipv4=["198.51.100.10"])

    now = placement.compute(customer_a, size_gb=5)

    assert "IP address: 198.51.100.10 → 198.51.100.11" in placement.changes(stored, now)
