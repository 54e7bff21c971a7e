"""Host affinity: a host's polls go to one worker process (its shard's queue), and a shard
whose worker is gone hands its hosts to a live one, so no host goes unpolled."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from hosts.models import Host, PollShard
from hosts.polling import shards
from hosts.tasks import DuePoll, claim_due_polls, dispatch_due_polls, poll_hosts, send_polls
from nyiops.celery import app as celery_app

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def sent(monkeypatch):
    """What the dispatcher sends: (queue, batch) per poll_hosts task, nothing published."""
    batches = []
    monkeypatch.setattr(
        poll_hosts,
        "apply_async",
        lambda args, **kw: batches.append((kw.get("queue"), [tuple(c) for c in args[0]])),
    )
    return batches


def hosts_by_queue(batches) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for queue, batch in batches:
        out.setdefault(queue, set()).update(pk for pk, _ in batch)
    return out


def due_now(pks) -> list[DuePoll]:
    now = timezone.now()
    return [DuePoll(pk, "token", now) for pk in pks]


def expire(number: int) -> None:
    PollShard.objects.filter(number=number).update(held_until=timezone.now() - timedelta(seconds=1))


def test_with_no_live_shard_every_batch_goes_to_the_shared_poll_queue(sent):
    send_polls(due_now(range(1, 30)))

    assert {queue for queue, _ in sent} == {"poll"}
    assert sorted(pk for _, batch in sent for pk, _ in batch) == list(range(1, 30))


def test_a_hosts_batches_go_to_its_shards_queue_on_every_dispatch(sent, settings):
    settings.NYIOPS_POLL_BATCH = 7
    a, _ = shards.claim_shard("worker-a")
    b, _ = shards.claim_shard("worker-b")
    claimed = due_now(range(1, 201))

    send_polls(claimed)
    first = hosts_by_queue(sent)
    sent.clear()
    send_polls(list(reversed(claimed)))

    assert hosts_by_queue(sent) == first  # the same host, the same process, every time
    assert set(first) == {shards.queue_name(a), shards.queue_name(b)}
    assert first[shards.queue_name(a)].isdisjoint(first[shards.queue_name(b)])
    # Spread over both (rendezvous hashing is near even: ~100 each of 200).
    assert all(60 < len(pks) < 140 for pks in first.values())
    assert all(len(batch) <= 7 for _, batch in sent)


def test_a_shard_leaving_moves_only_its_own_hosts():
    hosts = range(1, 501)
    before = {pk: shards.shard_for(pk, [0, 1, 2]) for pk in hosts}
    after = {pk: shards.shard_for(pk, [0, 2]) for pk in hosts}

    moved = {pk for pk in hosts if before[pk] != after[pk]}

    assert moved == {pk for pk in hosts if before[pk] == 1}


def test_a_restarted_worker_takes_its_old_shard_back_and_a_held_one_is_never_shared():
    a = shards.claim_shard("worker-a")
    b = shards.claim_shard("worker-b")
    assert a[0] != b[0]

    shards.release_shard(*a)  # worker-a stops cleanly
    again = shards.claim_shard("worker-a (restarted)")

    assert again[0] == a[0]
    assert shards.live_shards() == sorted([a[0], b[0]])


def test_every_shard_held_leaves_a_new_worker_on_the_shared_queue(settings):
    settings.NYIOPS_POLL_SHARDS = 2
    assert shards.claim_shard("a") and shards.claim_shard("b")

    assert shards.claim_shard("c") is None


def test_a_worker_that_stalled_past_its_lease_learns_it_and_retakes_its_shard(settings):
    keeper = shards.ShardKeeper("worker-a")
    number = keeper.join()
    keeper._stop.set()  # the renewals are driven by hand here
    expire(number)
    assert shards.reap_dead_shards() == [number]

    assert not shards.renew_shard(number, keeper.token)
    assert keeper._retake()
    assert shards.live_shards() == [number]


def fake_worker(queues: str | None):
    """The part of a starting Celery worker `join_a_shard` sees: its app's queues, with
    -Q applied the way the worker applies it."""
    declared = celery_app.amqp.Queues(celery_app.conf.task_queues)
    if queues:
        declared.select(queues.split(","))
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=declared)))


@pytest.mark.parametrize("queues", ["poll", None])
def test_a_poll_worker_takes_one_shard_and_consumes_its_queue_and_no_other(queues, monkeypatch):
    monkeypatch.setattr(shards, "_KEEPER", None)
    worker = fake_worker(queues)

    shards.join_a_shard(sender="bench0@host", instance=worker)
    try:
        keeper = shards._KEEPER
        consumed = set(worker.app.amqp.queues.consume_from)
        own = shards.queue_name(keeper.number)
        assert own in consumed
        assert not (consumed & set(shards.shard_queues())) - {own}
        assert "poll" in consumed
        assert PollShard.objects.get(number=keeper.number).owner == "bench0@host"
    finally:
        shards.leave_the_shard()
    # A clean shutdown ends the lease at once: the next dispatch re-routes its hosts.
    assert shards.live_shards() == []


def test_a_worker_that_does_not_poll_takes_no_shard(monkeypatch):
    monkeypatch.setattr(shards, "_KEEPER", None)
    worker = fake_worker("operations,notify")

    shards.join_a_shard(sender="alerts@host", instance=worker)

    assert shards._KEEPER is None
    assert set(worker.app.amqp.queues.consume_from) == {"operations", "notify"}
    assert not PollShard.objects.exclude(token="").exists()


@pytest.mark.sim
@pytest.mark.django_db(transaction=True)  # the batch's poll threads use their own connections
def test_a_dead_shards_hosts_are_rerouted_and_polled_by_the_next_dispatch(fleet, sent):
    live, _ = shards.claim_shard("worker-a")
    dead, _ = shards.claim_shard("worker-b")
    send_polls(claim_due_polls())
    routed = hosts_by_queue(sent)
    orphaned = routed[shards.queue_name(dead)]
    assert orphaned and routed[shards.queue_name(live)]
    # worker-a polls its batches; worker-b dies before taking any, and its lease runs out.
    for queue, batch in sent:
        if queue == shards.queue_name(live):
            poll_hosts(batch)
    sent.clear()
    expire(dead)

    dispatch_due_polls()

    assert hosts_by_queue(sent) == {shards.queue_name(live): orphaned}
    for _, batch in sent:
        poll_hosts(batch)
    hosts = Host.objects.all()
    assert all(h.last_poll_at is not None and h.reachability == "ok" for h in hosts)
    assert not hosts.filter(poll_claimed_until__isnull=False).exists()
    # Reaped once: the next dispatch re-routes nothing more.
    assert shards.reap_dead_shards() == []
