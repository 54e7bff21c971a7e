"""A host whose last poll timed out is polled on the slow lane, a few threads of its own, so it
never holds a regular poll thread and its batch does not wait for it. The lane never queues:
when it is full such a host is polled on a regular thread, as before the lane existed."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.models import Host, PollRun
from hosts.polling import run
from hosts.polling.slow_lane import SlowLane, timed_out_hosts
from tests.factories import HostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_poll_threads():
    run.shutdown_poll_threads()  # the lane is made with this test's settings
    yield
    run.shutdown_poll_threads()


def last_poll(host: Host, status: str, reachability: str = "unknown", ago: int = 0) -> None:
    at = timezone.now() - timedelta(seconds=ago)
    PollRun.objects.create(host=host, claim="c", started_at=at, finished_at=at, status=status)
    Host.objects.filter(pk=host.pk).update(reachability=reachability)


def timed_out_host() -> Host:
    host = HostFactory()
    last_poll(host, PollRun.Status.TIMED_OUT)
    return host


class FakePolls:
    """Stands in for a host's poll: records the thread it ran on; a host in `hang` waits
    until released (a tarpit), the others return at once."""

    def __init__(self, *hang: int):
        self.hang = set(hang)
        self.released = threading.Event()
        self.threads: dict[int, str] = {}
        self.started: dict[int, threading.Event] = {}

    def __call__(self, host_id: int, claim: str) -> str:
        self.threads[host_id] = threading.current_thread().name
        self.started.setdefault(host_id, threading.Event()).set()
        if host_id in self.hang:
            self.released.wait(timeout=30)
        return f"host {host_id}: ok"

    def wait_started(self, host_id: int) -> bool:
        return self.started.setdefault(host_id, threading.Event()).wait(timeout=30)


@pytest.fixture
def polls(monkeypatch):
    fake = FakePolls()
    monkeypatch.setattr(run, "_poll_in_thread", fake)
    yield fake
    fake.released.set()


def test_only_a_host_unreachable_by_a_timeout_is_on_the_slow_lane():
    tarpit = timed_out_host()
    refused = HostFactory()
    last_poll(refused, PollRun.Status.FAILED)  # connection refused: fails fast
    recovered = HostFactory()
    last_poll(recovered, PollRun.Status.TIMED_OUT, reachability="ok")  # then a quiet success
    timed_out_then_refused = HostFactory()
    last_poll(timed_out_then_refused, PollRun.Status.TIMED_OUT, ago=30)
    last_poll(timed_out_then_refused, PollRun.Status.FAILED)
    healthy = HostFactory()

    hosts_ = [tarpit, refused, recovered, timed_out_then_refused, healthy]

    assert timed_out_hosts([h.pk for h in hosts_]) == {tarpit.pk}


def test_a_timed_out_host_is_polled_on_the_slow_lane_and_its_batch_does_not_wait(polls):
    tarpit, healthy = timed_out_host(), HostFactory()
    polls.hang = {tarpit.pk}

    summaries = run.poll_claimed_batch([(tarpit.pk, "a"), (healthy.pk, "b")])

    # Returned while the tarpit's poll still hangs.
    assert not polls.released.is_set()
    assert summaries == [
        f"host {tarpit.pk}: handed to the slow lane (its last poll timed out)",
        f"host {healthy.pk}: ok",
    ]
    assert polls.wait_started(tarpit.pk)
    assert polls.threads[tarpit.pk].startswith("poll-slow")
    assert polls.threads[healthy.pk].startswith("poll_")


def test_a_full_slow_lane_polls_the_host_on_a_regular_thread_and_waits_for_it(polls, settings):
    settings.NYIOPS_POLL_SLOW_THREADS = 1
    first, second = timed_out_host(), timed_out_host()
    polls.hang = {first.pk}
    run.poll_claimed_batch([(first.pk, "a")])
    assert polls.wait_started(first.pk)  # the lane's one thread is busy

    summaries = run.poll_claimed_batch([(second.pk, "b")])

    assert summaries == [f"host {second.pk}: ok"]  # polled, not queued behind the first
    assert polls.threads[second.pk].startswith("poll_")


def test_a_full_lane_refuses_without_queueing_and_takes_again_once_a_poll_ends():
    lane, gate, refused = SlowLane(1), threading.Event(), []
    try:
        assert lane.offer(gate.wait, 30)

        assert not lane.offer(refused.append, "ran")
        gate.set()
        lane.submit(lambda: None).result()  # the one thread is past the first poll's end
        assert lane.offer(lambda: None)
    finally:
        gate.set()
        lane.shutdown()
    assert refused == []  # a refused poll was not queued: it never ran


def test_a_host_whose_poll_succeeds_again_goes_back_to_the_regular_threads(polls):
    host = timed_out_host()
    run.poll_claimed_batch([(host.pk, "a")])
    assert polls.wait_started(host.pk)
    assert polls.threads[host.pk].startswith("poll-slow")
    Host.objects.filter(pk=host.pk).update(reachability="ok")  # what its successful poll stores
    del polls.threads[host.pk]

    assert run.poll_claimed_batch([(host.pk, "b")]) == [f"host {host.pk}: ok"]
    assert polls.threads[host.pk].startswith("poll_")


def test_no_slow_lane_when_it_has_no_threads(polls, settings):
    settings.NYIOPS_POLL_SLOW_THREADS = 0
    host = timed_out_host()

    assert run.poll_claimed_batch([(host.pk, "a")]) == [f"host {host.pk}: ok"]
    assert polls.threads[host.pk].startswith("poll_")


def test_shutting_the_poll_threads_down_stops_the_slow_lane(polls):
    host = timed_out_host()
    polls.hang = {host.pk}
    run.poll_claimed_batch([(host.pk, "a")])
    assert polls.wait_started(host.pk)
    stopper = threading.Thread(target=run.shutdown_poll_threads)
    stopper.start()
    polls.released.set()  # the poll in flight ends (by its deadline, in a worker)
    stopper.join(timeout=30)

    assert not stopper.is_alive()
    assert not [t for t in threading.enumerate() if t.name.startswith("poll-slow")]
