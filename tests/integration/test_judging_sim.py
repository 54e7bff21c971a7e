"""What a poll judges when only pf's state count moved (issue 12), against the simulated fleet.

The count is stored with the once-a-minute sample; the host and its clusters are judged
then only if the count can change a cluster finding (hosts.health.store.pf_states_need_judging):
a pair whose tables now diverge, or whose open finding states the counts. The other observed
kinds, changed, are judged in the next poll (tests/integration/test_poll_fast_path.py).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.models import Finding, HostFacts
from tests.integration.conftest import poll

pytestmark = [pytest.mark.sim, pytest.mark.django_db]


def facts(name: str) -> HostFacts:
    return HostFacts.objects.get(host__name=name)


def sampled_poll(name: str):
    """Poll `name` with its counters' once-a-minute sample due."""
    HostFacts.objects.filter(host__name=name).update(
        metrics_sampled_at=timezone.now() - timedelta(seconds=61)
    )
    return poll(name)[name]


def test_a_moved_count_on_a_pair_that_agrees_is_stored_without_judging(fleet):
    poll("fw1a", "fw1b")
    poll("fw1a", "fw1b")
    fleet.advance(20)  # traffic moves the counts; pfsync keeps the pair's tables equal
    before = facts("fw1a")

    outcome = sampled_poll("fw1a")

    after = facts("fw1a")
    assert after.pf_states != before.pf_states  # stored
    assert outcome.findings is None  # not judged
    assert after.evaluated_at == before.evaluated_at


def test_a_moved_count_that_makes_the_pair_diverge_is_judged_in_the_next_sampled_poll(fleet):
    poll("fw1a", "fw1b")
    poll("fw1a", "fw1b")
    fw1a_states = facts("fw1a").pf_states
    # fw1b's last sample says it holds a tenth of fw1a's states: pfsync is losing updates.
    HostFacts.objects.filter(host__name="fw1b").update(pf_states=fw1a_states // 10)
    fleet.advance(20)

    outcome = sampled_poll("fw1a")

    assert outcome.findings is not None
    diverged = Finding.objects.get(kind="state_tables_diverged", cluster__name="fw-pair-1")
    assert f"{facts('fw1a').pf_states:,}" in diverged.message

    # Once fw1b's count agrees again, fw1a's next sample clears it.
    HostFacts.objects.filter(host__name="fw1b").update(pf_states=facts("fw1a").pf_states)
    fleet.advance(20)
    outcome = sampled_poll("fw1a")

    assert outcome.findings is not None
    assert not Finding.objects.filter(kind="state_tables_diverged").exists()
