"""Fixtures for operations tests: a simulated fleet imported and polled, two NOC people."""

import pytest
from django.utils import timezone

from hosts.models import Host
from nyiops.roles import NOC
from operations.actions.base import freshness_of
from tests.alerts.conftest import clock, oncall, sent_tasks  # noqa: F401 - fixtures
from tests.conftest import _user_in
from tests.integration.conftest import fleet, poll, poll_all, ssh_timeouts  # noqa: F401 - fixtures


@pytest.fixture
def nora(db):
    return _user_in(NOC, username="nora-noc", is_staff=True)


@pytest.fixture
def sam(db):
    return _user_in(NOC, username="sam-noc", is_staff=True)


@pytest.fixture
def fast_ops(settings):
    settings.NYIOPS_OPERATION_VERIFY_INTERVAL_SECONDS = 0.2
    settings.NYIOPS_OPERATION_COMMAND_TIMEOUT_SECONDS = 5.0


@pytest.fixture
def polled_fleet(fleet, fast_ops):  # noqa: F811 - the imported fixture
    """The fleet polled, every host's data fresh by the guardrails' measure when the test
    starts, as an operator would find it.

    Twenty hosts polled one after the other can take longer than the guardrails trust data
    (two poll intervals, 20 s) on a loaded machine (two xdist workers, or other work on the
    cores): whatever went stale meanwhile is polled again, a few times at most."""
    poll_all()
    for _ in range(5):
        now = timezone.now()
        stale = [h.name for h in Host.objects.all() if freshness_of(h, now) == "stale"]
        if not stale:
            break
        poll(*stale)
    return fleet


DRAIN_SECONDS = 1.0


@pytest.fixture
def quick_drains(polled_fleet):
    """The fleet's HAProxy servers, once out of rotation, see their open sessions end within
    DRAIN_SECONDS instead of the demo's 10 s: a drain still waits on both LBs for sessions
    that really were open to reach 0, without spending ten seconds of the suite on it."""

    def shorten(hosts):
        for host in hosts.values():
            for backend in (host.get("haproxy") or {}).get("backends", ()):
                for server in backend["servers"]:
                    server["drain_seconds"] = DRAIN_SECONDS

    polled_fleet.call(shorten, polled_fleet.fleet.hosts)
    return polled_fleet
