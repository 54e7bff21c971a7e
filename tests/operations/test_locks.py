"""Locks with leases and fencing tokens (RELIABILITY E1, E2), without SSH."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.models import Cluster, ClusterMember, Host
from operations import locks
from operations.models import Operation, OperationLock

pytestmark = pytest.mark.django_db


@pytest.fixture
def pairs(db):
    hosts = {
        n: Host.objects.create(name=n, address="127.0.0.1", roles=["firewall"])
        for n in ("fw1a", "fw1b", "fw2a", "fw2b")
    }
    clusters = {}
    for name, a, b in (("fw-pair-1", "fw1a", "fw1b"), ("fw-pair-2", "fw2a", "fw2b")):
        c = clusters[name] = Cluster.objects.create(name=name, kind="firewall")
        ClusterMember.objects.create(cluster=c, host=hosts[a], role="primary")
        ClusterMember.objects.create(cluster=c, host=hosts[b], role="backup")
    return hosts, clusters


def op_on(cluster, hosts, who="nora-noc"):
    return Operation.objects.create(
        kind="carp-maintenance",
        target_label=cluster.name,
        cluster=cluster,
        host=hosts[0],
        affected_host_ids=[h.pk for h in hosts],
        requested_by_name=who,
        state="running",
    )


def test_second_operation_on_a_locked_pair_is_refused_naming_the_holder(pairs):
    hosts, clusters = pairs
    first = op_on(clusters["fw-pair-1"], [hosts["fw1a"], hosts["fw1b"]])
    second = op_on(clusters["fw-pair-1"], [hosts["fw1b"], hosts["fw1a"]], who="sam-noc")
    other = op_on(clusters["fw-pair-2"], [hosts["fw2a"], hosts["fw2b"]])

    locks.acquire(first)
    with pytest.raises(locks.LockBusy) as busy:
        locks.acquire(second)
    locks.acquire(other)  # another pair runs concurrently

    assert str(busy.value).startswith(
        f"cluster busy: operation #{first.pk} (carp-maintenance) by nora-noc since "
    )
    # All or nothing: the refused operation holds no lock at all.
    assert not OperationLock.objects.filter(operation=second).exists()
    assert OperationLock.objects.filter(operation=first).count() == 3
    assert OperationLock.objects.filter(operation=other).count() == 3


def test_host_lock_alone_also_refuses(pairs):
    hosts, clusters = pairs
    single = Operation.objects.create(
        kind="disk-replace",
        target_label="fw1b",
        host=hosts["fw1b"],
        affected_host_ids=[hosts["fw1b"].pk],
        requested_by_name="sam-noc",
        state="running",
    )
    locks.acquire(single)
    pair = op_on(clusters["fw-pair-1"], [hosts["fw1a"], hosts["fw1b"]])
    with pytest.raises(locks.LockBusy, match="host busy"):
        locks.acquire(pair)
    assert not OperationLock.objects.filter(operation=pair).exists()


def test_lock_order_is_cluster_first_then_hosts_by_id(pairs):
    hosts, clusters = pairs
    op = op_on(clusters["fw-pair-1"], [hosts["fw1b"], hosts["fw1a"]])
    assert locks.scopes_for(op) == [
        f"cluster:{clusters['fw-pair-1'].pk}",
        f"host:{hosts['fw1a'].pk}",
        f"host:{hosts['fw1b'].pk}",
    ]


def test_a_holder_past_its_lease_is_fenced_once_another_takes_over(pairs):
    hosts, clusters = pairs
    first = op_on(clusters["fw-pair-1"], [hosts["fw1a"], hosts["fw1b"]])
    second = op_on(clusters["fw-pair-1"], [hosts["fw1a"], hosts["fw1b"]], who="sam-noc")
    token1 = locks.acquire(first)
    locks.check(first)  # fine while the lease runs

    # first pauses past its lease; second takes the pair with a newer token
    OperationLock.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    token2 = locks.acquire(second)

    assert token2 > token1
    with pytest.raises(locks.Fenced, match=f"token {token1} is stale"):
        locks.check(first)
    with pytest.raises(locks.Fenced):
        locks.renew(first)
    assert locks.release(first) == 0  # frees nothing of second's
    locks.check(second)
    assert set(OperationLock.objects.values_list("token", flat=True)) == {token2}


def test_renew_extends_the_lease(pairs):
    hosts, clusters = pairs
    op = op_on(clusters["fw-pair-1"], [hosts["fw1a"], hosts["fw1b"]])
    locks.acquire(op)
    before = OperationLock.objects.get(scope=f"host:{hosts['fw1a'].pk}").lease_until
    later = timezone.now() + timedelta(seconds=120)
    locks.renew(op, later)
    after = OperationLock.objects.get(scope=f"host:{hosts['fw1a'].pk}").lease_until
    assert after > before


def test_the_admin_is_read_only(admin_client, pairs):
    hosts, clusters = pairs
    op = op_on(clusters["fw-pair-1"], [hosts["fw1a"], hosts["fw1b"]])
    assert admin_client.get(f"/admin/operations/operation/{op.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/operations/operation/{op.pk}/delete/").status_code == 403
    assert Operation.objects.filter(pk=op.pk).exists()
