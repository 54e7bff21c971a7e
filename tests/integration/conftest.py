"""A simulated fleet, imported into the test database, for integration tests (marker: sim)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from fleetsim.testing import running_fleet
from hosts.models import Host
from hosts.polling.run import CONNECTIONS, poll_host, shutdown_poll_threads

DEMO_SPEC = Path(__file__).resolve().parents[2] / "demo" / "fleet.yaml"


@pytest.fixture
def ssh_timeouts(settings):
    # Shrunk so a slow or dead host fails fast (RELIABILITY.md: timeouts in tests are small).
    settings.NYIOPS_SSH_TIMEOUTS = {"connect": 1.0, "banner": 1.0, "auth": 1.0, "command": 3.0}


@pytest.fixture
def fleet(tmp_path, db, ssh_timeouts):
    with running_fleet(DEMO_SPEC, tmp_path / "fleet", base_port=0) as running:
        call_command("import_inventory", str(running.inventory_path), verbosity=0)
        try:
            yield running
        finally:
            stop_polling()


def stop_polling() -> None:
    """Close this process's SSH connections and stop its poll threads, before the fleet stops.

    In that order: a fleet that stops first resets every connection, and the connection
    watcher (hosts.polling.run.watch_connection) takes that for cluster members dropping
    theirs, claims them and polls them from its own threads, after the test, on a database
    being flushed (a deadlock with the flush) or dropped (a session left on it)."""
    CONNECTIONS.close_all()
    shutdown_poll_threads()  # their database connections would keep the test DB in use


def poll(*names: str):
    """Poll hosts synchronously, in order; returns the outcomes by host name."""
    hosts = Host.objects.select_related("credential").filter(name__in=names)
    by_name = {h.name: h for h in hosts}
    return {name: poll_host(by_name[name]) for name in names}


def poll_all():
    names = list(Host.objects.order_by("name").values_list("name", flat=True))
    return poll(*names)
