"""Fixtures for operations tests: a simulated fleet imported and polled, two NOC people."""

import pytest

from nyiops.roles import NOC
from tests.alerts.conftest import clock, oncall, sent_tasks  # noqa: F401 - fixtures
from tests.conftest import _user_in
from tests.integration.conftest import fleet, poll_all, ssh_timeouts  # noqa: F401 - fixtures


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
    poll_all()
    return fleet
