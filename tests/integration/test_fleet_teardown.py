"""A test that polled a simulated fleet leaves nothing behind on the database: no poll, claim
or session of this process's background threads after the fleet fixture is torn down.

The fleet fixture once stopped the fleet before closing its SSH connections: the connection
watcher took the reset connections for cluster members dropping theirs and claimed and polled
them from its own threads after the test, during the flush (a deadlock on PostgreSQL) and
then held a session on the test database, which could not be dropped at the end of the run."""

import time

import pytest
from django.core.management import call_command

from fleetsim.testing import running_fleet
from hosts.models import Host, PollRun
from tests.integration.conftest import DEMO_SPEC, poll, stop_polling
from tests.reliability.stack import other_sessions

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


def test_a_polled_fleet_stopped_as_the_fixture_does_is_not_polled_afterwards(
    tmp_path, settings, ssh_timeouts
):
    settings.NYIOPS_WATCH_DROPPED_EVERY = 0.05
    before = other_sessions()
    with running_fleet(DEMO_SPEC, tmp_path / "fleet", base_port=0) as fleet:
        call_command("import_inventory", str(fleet.inventory_path), verbosity=0)
        poll("fw1a", "fw1b")  # cluster members: the watcher now watches their connections
        runs = PollRun.objects.count()
        stop_polling()
    time.sleep(1.0)  # twenty looks of the watcher at connections the fleet no longer serves

    assert not Host.objects.exclude(poll_claim="").exists()
    assert PollRun.objects.count() == runs
    assert other_sessions() <= before
