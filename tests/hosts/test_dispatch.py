"""The poll dispatcher claims hosts due before its next run and sends each batch to start at
its hosts' due time, so a host waits neither for a dispatch tick nor for a spread after it;
the schedule advances from the due time, so it keeps its phase, and after an outage neither
piles up nor turns the fleet into one burst."""

import datetime as dt

import pytest
import time_machine
from kombu.exceptions import OperationalError as BrokerError

import hosts.tasks
from hosts.models import Host
from hosts.tasks import (
    POLL_EXPIRES,
    POLL_LEASE,
    DuePoll,
    claim_due_polls,
    dispatch_due_polls,
    next_due,
    poll_batches,
    poll_phase,
)
from tests.factories import HostFactory

REAL_POLL_PHASE = poll_phase

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def dispatch_every_second(settings):
    settings.NYIOPS_DISPATCH_INTERVAL = 1.0


@pytest.fixture
def sent(monkeypatch):
    """Each poll_hosts task the dispatcher sends: its host ids and its Celery options."""
    tasks = []

    def publish(args, **options):
        (batch,) = args
        tasks.append(([pk for pk, _ in batch], options))

    monkeypatch.setattr(hosts.tasks.poll_hosts, "apply_async", publish)
    return tasks


# Each test host's phase puts its due time on its own grid, as a host polled steadily has
# it; the real phases are a hash of the id (test_phases_spread_hosts_over_their_interval).
PHASES: dict[int, dt.timedelta] = {}


@pytest.fixture(autouse=True)
def phases_on_the_due_times(monkeypatch):
    PHASES.clear()
    monkeypatch.setattr(hosts.tasks, "poll_phase", lambda pk, interval: PHASES[pk])


def due_host(seconds: float, interval: int = 15) -> Host:
    host = HostFactory(next_poll_at=at(seconds), poll_interval=interval)
    PHASES[host.pk] = dt.timedelta(seconds=seconds % interval)
    return host


def test_a_host_due_before_the_next_dispatch_is_claimed_now_and_starts_at_its_due_time(
    clock, dispatch_every_second, sent
):
    host = due_host(0.5)

    dispatch_due_polls()

    ((pks, options),) = sent
    assert pks == [host.pk]
    assert options["eta"] == at(0.5)
    assert options["expires"] == at(0.5) + POLL_EXPIRES  # counted from its start, not now


def test_a_host_due_after_the_next_dispatch_is_left_to_that_one(clock, dispatch_every_second, sent):
    host = due_host(1.5)

    dispatch_due_polls()

    assert sent == []
    assert Host.objects.get(pk=host.pk).poll_claimed_until is None


def test_a_host_already_due_starts_at_once(clock, dispatch_every_second, sent):
    due_host(-0.3)

    dispatch_due_polls()

    ((_, options),) = sent
    assert options["eta"] is None and options["expires"] == T0 + POLL_EXPIRES


def test_the_next_due_time_is_one_interval_after_the_due_time_not_the_claim(
    clock, dispatch_every_second, sent
):
    early, late = due_host(0.5), due_host(-3)

    dispatch_due_polls()

    assert Host.objects.get(pk=early.pk).next_poll_at == at(15.5)
    assert Host.objects.get(pk=late.pk).next_poll_at == at(12)


def test_a_host_overdue_after_an_outage_is_polled_at_once_then_on_its_own_phase(
    clock, dispatch_every_second, sent
):
    host = due_host(-3599)  # one second past its 15 s grid

    dispatch_due_polls()

    ((_, options),) = sent
    assert options["eta"] is None
    # Not due again at once, nor from now (T0 + 15): on its grid, at least half an
    # interval on, so hosts overdue together stay as spread as they were.
    assert Host.objects.get(pk=host.pk).next_poll_at == at(16)


def test_next_due_is_the_first_slot_of_the_hosts_grid_half_an_interval_away():
    def on_grid_of(seconds: float) -> dt.timedelta:
        return dt.timedelta(seconds=seconds % 15)  # T0 is a slot of the phase-0 grid

    assert next_due(at(0.5), 15, T0, on_grid_of(0.5)) == at(15.5)  # claimed ahead
    assert next_due(at(-7), 15, T0, on_grid_of(-7)) == at(8)
    assert next_due(at(-8), 15, T0, on_grid_of(-8)) == at(22)  # not at(7), right after it
    assert next_due(at(-3600), 15, T0, on_grid_of(0)) == at(15)


def test_a_host_off_its_grid_joins_it():
    # Made due at T0 (imported, re-routed), phase 6 s: its next poll is on its grid, at
    # least half an interval on.
    assert next_due(T0, 15, T0, dt.timedelta(seconds=6)) == at(21)
    assert next_due(T0, 15, T0, dt.timedelta(seconds=9)) == at(9)


def test_phases_spread_hosts_over_their_interval():
    phases = [poll_phase(pk, 60) for pk in range(1, 1001)]

    assert all(dt.timedelta(0) <= p < dt.timedelta(seconds=60) for p in phases)
    assert poll_phase(42, 60) == poll_phase(42, 60)  # a host keeps its phase
    per_tenth = [
        sum(1 for p in phases if 6 * i <= p.total_seconds() < 6 * (i + 1)) for i in range(10)
    ]
    assert min(per_tenth) >= 80 and max(per_tenth) <= 120  # 100 each, give or take


def test_a_fleet_made_due_at_once_is_spread_over_one_interval_by_its_next_polls(
    clock, dispatch_every_second, sent, monkeypatch
):
    monkeypatch.setattr(hosts.tasks, "poll_phase", REAL_POLL_PHASE)
    fleet = [HostFactory(next_poll_at=T0, poll_interval=60) for _ in range(200)]

    dispatch_due_polls()

    due = sorted(
        Host.objects.filter(pk__in=[h.pk for h in fleet]).values_list("next_poll_at", flat=True)
    )
    assert at(30) <= due[0] and due[-1] < at(90)  # each at least half an interval on
    per_ten_seconds = {int((d - at(30)).total_seconds() // 10) for d in due}
    assert per_ten_seconds == set(range(6))  # each sixth of the interval gets some
    assert len(set(due)) >= 190  # hardly two hosts due at the same instant


def test_the_lease_covers_the_wait_for_the_eta_and_the_whole_poll(
    clock, dispatch_every_second, sent
):
    host = due_host(1.0)

    dispatch_due_polls()

    ((_, options),) = sent
    claimed_until = Host.objects.get(pk=host.pk).poll_claimed_until
    assert claimed_until == at(1) + POLL_LEASE
    assert claimed_until - options["eta"] > dt.timedelta(seconds=hosts.tasks.poll_hosts.time_limit)


def test_a_host_claimed_ahead_is_not_claimed_again_while_its_poll_waits(
    clock, dispatch_every_second, sent
):
    due_host(0.9)
    dispatch_due_polls()
    clock.shift(dt.timedelta(seconds=1))  # the next dispatch, before the poll has run

    dispatch_due_polls()

    assert len(sent) == 1


def test_batches_hold_hosts_due_close_together_in_due_order(clock, settings):
    settings.NYIOPS_POLL_BATCH = 2
    polls = [
        DuePoll(3, "t", at(0.2)),
        DuePoll(1, "t", at(0.0)),
        DuePoll(2, "t", at(0.1)),
        DuePoll(4, "t", at(0.9)),  # more than half a second after its batch's first
    ]

    batches = poll_batches(polls)

    assert [[p.host_id for p in batch] for _, batch in batches] == [[1, 2], [3], [4]]


def test_the_batches_of_one_dispatch_start_at_their_first_hosts_due_times(
    clock, dispatch_every_second, sent
):
    hosts_ = [due_host(s) for s in (0.8, 0.1, 0.2)]

    dispatch_due_polls()

    assert [(pks, options["eta"]) for pks, options in sent] == [
        ([hosts_[1].pk, hosts_[2].pk], at(0.1)),
        ([hosts_[0].pk], at(0.8)),
    ]


def test_a_claim_ahead_that_could_not_be_published_is_due_again_at_its_own_due_time(
    clock, dispatch_every_second, monkeypatch
):
    host = due_host(0.5)

    def refuse(*args, **kwargs):
        raise BrokerError("Connection refused")

    monkeypatch.setattr(hosts.tasks.poll_hosts, "apply_async", refuse)

    assert "released 1 claims" in dispatch_due_polls()
    host.refresh_from_db()
    assert host.poll_claimed_until is None and host.next_poll_at == at(0.5)


def test_claim_due_polls_returns_the_due_times_in_due_order(clock):
    later, sooner = due_host(0.4), due_host(-2)

    polls = claim_due_polls(T0, within=dt.timedelta(seconds=1))

    assert [(p.host_id, p.due_at) for p in polls] == [(sooner.pk, at(-2)), (later.pk, at(0.4))]
    assert len({p.claim for p in polls}) == 1
