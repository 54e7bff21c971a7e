"""When a moved pf state count must be judged (hosts.health.carp.pf_states_matter, issue 12).

pf state counts move on every firewall and load balancer between two once-a-minute samples;
the poller judges a host for that alone only when it can change one of its clusters'
findings. The property below is the contract: whenever pf_states_matter says no, judging
the cluster with the new counts finds exactly what it found with the old ones.
"""

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from hosts.health.carp import evaluate_cluster, pf_states_matter
from hosts.health.state import ClusterState, HostState, VhidState

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def member(name, hid, state="MASTER", pf_states=40000, reachability="ok", **kw):
    vhids = tuple(VhidState("em0", n, state, 1, 0, (f"198.51.100.{n}/24",)) for n in (1, 2))
    return HostState(
        id=hid, name=name, reachability=reachability, vhids=vhids, pf_states=pf_states,
        pfsync_present=True, pfsync_syncok=1, carp_preempt=1, pf_ruleset_hash="r", **kw,
    )  # fmt: skip


def pair(a, b, kind="firewall"):
    return ClusterState(3, "fw1", kind, ((a, "primary"), (b, "backup")))


def open_kinds(cluster):
    return {f.kind for f in evaluate_cluster(cluster, NOW)}


def test_counts_that_agree_with_nothing_open_need_no_judgement():
    c = pair(member("a", 1), member("b", 2, "BACKUP", pf_states=39000))

    assert not pf_states_matter(c, open_kinds(c))


def test_counts_that_now_diverge_need_a_judgement():
    c = pair(member("a", 1), member("b", 2, "BACKUP", pf_states=20000))

    assert pf_states_matter(c, set())


def test_an_open_divergence_is_judged_with_every_count_until_it_clears():
    agreeing = pair(member("a", 1), member("b", 2, "BACKUP"))

    assert pf_states_matter(agreeing, {"state_tables_diverged"})


def test_an_open_failover_is_judged_with_every_count_since_its_message_states_them():
    failed_over = pair(member("a", 1, "BACKUP"), member("b", 2, "MASTER"), kind="loadbalancer")

    assert "preferred_master_is_backup" in open_kinds(failed_over)
    assert pf_states_matter(failed_over, open_kinds(failed_over))


def test_a_load_balancer_pair_has_no_divergence_rule_to_judge():
    c = pair(member("a", 1), member("b", 2, "BACKUP", pf_states=10), kind="loadbalancer")

    assert not pf_states_matter(c, open_kinds(c))


def test_an_unreachable_members_last_count_is_not_compared():
    c = pair(member("a", 1), member("b", 2, "BACKUP", pf_states=10, reachability="unknown"))

    assert not pf_states_matter(c, set())


counts = st.one_of(st.none(), st.integers(0, 200), st.integers(0, 100_000))


@given(
    kind=st.sampled_from(["firewall", "vpn", "loadbalancer", "jail-service", "web"]),
    states=st.tuples(*[st.sampled_from(["MASTER", "BACKUP", "INIT"])] * 2),
    reachable=st.tuples(st.booleans(), st.booleans()),
    syncok=st.tuples(st.sampled_from([0, 1, None]), st.sampled_from([0, 1, None])),
    before=st.tuples(counts, counts),
    after=st.tuples(counts, counts),
)
def test_when_counts_need_no_judgement_judging_them_finds_what_was_found(
    kind, states, reachable, syncok, before, after
):
    def cluster(counts):
        return pair(
            *(
                member(name, i + 1, states[i], counts[i],
                       reachability="ok" if reachable[i] else "unknown", )
                for i, name in enumerate(("a", "b"))
            ),
            kind=kind,
        )  # fmt: skip

    old = cluster(before)
    old = replace(
        old,
        members=tuple(
            (replace(h, pfsync_syncok=syncok[i]), role) for i, (h, role) in enumerate(old.members)
        ),
    )
    new = replace(
        old,
        members=tuple(
            (replace(h, pf_states=after[i]), role) for i, (h, role) in enumerate(old.members)
        ),
    )
    found = evaluate_cluster(old, NOW)

    if not pf_states_matter(new, {f.kind for f in found}):
        assert evaluate_cluster(new, NOW) == found
