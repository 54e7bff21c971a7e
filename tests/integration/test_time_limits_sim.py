"""RELIABILITY A7 against the simulated fleet: a poll whose SSH command hangs ends at the
command deadline, records TIMED_OUT with the reason and frees its claim; the deadline that
fired fits the task's soft limit (tests/reliability/test_time_limits.py holds the sums)."""

import pytest
from django.conf import settings
from django.utils import timezone

from hosts.choices import Reachability
from hosts.models import Host, PollRun
from hosts.ssh import SSHTarget, worst_case_seconds
from hosts.tasks import claim_due_hosts
from hosts.tasks import poll_host as poll_task
from tests.integration.conftest import poll

pytestmark = pytest.mark.sim


def test_hung_command_ends_the_poll_task_timed_out_with_the_claim_released(fleet):
    poll("web2")  # a persistent connection is open: the next exec is what hangs
    fleet.inject("web2", "slow", "30")
    Host.objects.filter(name="web2").update(next_poll_at=timezone.now())
    claims = dict(claim_due_hosts())
    host = Host.objects.get(name="web2")

    summary = poll_task(host.pk, claims[host.pk])

    host.refresh_from_db()
    run = PollRun.objects.filter(host=host).latest("started_at")
    command_timeout = settings.NYIOPS_SSH_TIMEOUTS["command"]
    assert run.status == PollRun.Status.TIMED_OUT
    assert run.error == f"command timed out after {command_timeout:g}s"
    assert host.reachability == Reachability.UNKNOWN and host.poll_claimed_until is None
    assert "timed out" in summary
    timeouts = settings.NYIOPS_SSH_TIMEOUTS
    worst = worst_case_seconds(
        SSHTarget(
            name="web2",
            address="127.0.0.1",
            port=22,
            username="nyiops",
            private_key="",
            pinned_key=None,
            connect_timeout=timeouts["connect"],
            banner_timeout=timeouts["banner"],
            auth_timeout=timeouts["auth"],
            command_timeout=timeouts["command"],
        )
    )
    assert worst < poll_task.soft_time_limit
