import datetime as dt

import pytest
import time_machine

from alerts import dispatch, paging, sweeps
from alerts.choices import NotificationStatus
from alerts.models import Notification
from tests.alerts.factories import oncall_setup
from tests.factories import ClusterFactory, ClusterMemberFactory, HostFactory

T0 = dt.datetime(2026, 11, 28, 12, 3, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def sent_tasks(monkeypatch):
    """Tasks the services enqueued (by name), instead of a broker."""
    calls = []
    monkeypatch.setattr(
        dispatch, "_send", lambda name, args, countdown=0: calls.append((name, args, countdown))
    )
    return calls


@pytest.fixture(autouse=True)
def no_hold(settings):
    """Escalation tests start from an alert that pages at once; the hold before the first
    page has its own tests (test_hold_and_followups.py), which set it explicitly."""
    settings.NYIOPS_ALERT_HOLD_SECONDS = 0
    settings.NYIOPS_ALERT_HOLD_BY_KIND = {}


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def pair(db):
    """fw-pair-1: fw1a (primary) and fw1b (backup)."""
    cluster = ClusterFactory(name="fw-pair-1", kind="firewall")
    fw1a = HostFactory(name="fw1a", roles=["firewall"])
    fw1b = HostFactory(name="fw1b", roles=["firewall"])
    ClusterMemberFactory(cluster=cluster, host=fw1a, role="primary")
    ClusterMemberFactory(cluster=cluster, host=fw1b, role="backup")
    return cluster, fw1a, fw1b


@pytest.fixture
def oncall(oncall_user, noc_user):
    """oscar-oncall is primary, nora-noc secondary; team step pages the NOC group."""
    return oncall_setup(oncall_user, noc_user, start=T0 - dt.timedelta(days=1))


def run_due(now):
    """One beat tick: due escalation steps, then every pending notification."""
    sweeps.escalate_due(now)
    return deliver_pending(now)


def deliver_pending(now):
    results = []
    for pk in Notification.objects.filter(status=NotificationStatus.PENDING).values_list(
        "pk", flat=True
    ):
        results.append(paging.deliver_notification(pk, now=now))
    return results
