"""A worker keeps each polled host's loaded inventory (hosts.polling.run.load_claimed_host)
and reads the claimed row with one plain SELECT: these tests prove that any inventory change
is used by the very next poll, and that the poll state is always read fresh."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hosts.models import ClusterMember, Host, SSHCredential
from hosts.polling.run import load_claimed_host
from hosts.tasks import poll_host as poll_task

pytestmark = [pytest.mark.django_db]


def claimed(name: str) -> tuple[int, str]:
    token = str(uuid.uuid4())
    Host.objects.filter(name=name).update(
        poll_claim=token, poll_claimed_until=timezone.now() + timedelta(minutes=1)
    )
    return Host.objects.get(name=name).pk, token


@pytest.fixture
def kept(fleet):
    """fw1a loaded once, so its object is kept; the next load is one SELECT."""
    load_claimed_host(*claimed("fw1a"))
    claim = claimed("fw1a")
    with CaptureQueriesContext(connection) as queries:
        assert load_claimed_host(*claim) is not None
    assert len(queries) == 1
    return Host.objects.get(name="fw1a")


def test_a_kept_host_is_not_returned_for_a_claim_that_is_no_longer_its_own(kept):
    pk, _ = claimed("fw1a")

    assert load_claimed_host(pk, "an-old-claim") is None
    Host.objects.filter(pk=pk).update(enabled=False)
    assert load_claimed_host(*claimed("fw1a")) is None


def test_the_poll_state_of_a_kept_host_is_read_fresh(kept):
    due = timezone.now() + timedelta(seconds=37)
    Host.objects.filter(pk=kept.pk).update(next_poll_at=due, reachability="unknown")

    host = load_claimed_host(*claimed("fw1a"))

    assert host.next_poll_at == due
    assert host.reachability == "unknown"


@pytest.mark.parametrize(
    "change",
    [
        {"address": "127.0.0.2"},
        {"ssh_port": 1},
        {"ssh_user": "someone"},
        {"roles": ["web"]},
        {"poll_interval": 99},
        {"host_key_base64": ""},
    ],
)
def test_an_inventory_change_of_a_kept_host_is_used_by_the_next_poll(kept, change):
    Host.objects.filter(pk=kept.pk).update(**change)

    host = load_claimed_host(*claimed("fw1a"))

    for field, value in change.items():
        assert getattr(host, field) == value


def test_a_changed_credential_and_cluster_membership_are_used_by_the_next_poll(kept):
    SSHCredential.objects.filter(pk=kept.credential_id).update(username="rotated")
    ClusterMember.objects.filter(host=kept).delete()

    host = load_claimed_host(*claimed("fw1a"))

    assert host.credential.username == "rotated"
    assert host.in_cluster is False


@pytest.mark.sim
def test_a_kept_host_moved_to_a_closed_port_is_polled_there_and_found_unreachable(kept):
    Host.objects.filter(pk=kept.pk).update(ssh_port=1)

    summary = poll_task(*claimed("fw1a"))

    assert "failed" in summary
    assert Host.objects.get(pk=kept.pk).reachability == "unknown"
