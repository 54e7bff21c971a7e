"""A permanent SSH error backs off; a passing one is retried at the next interval.

`SSHError.permanent` marks what will not fix itself (authentication refused, a host key
waiting for a decision): polling such a host every interval only fills its auth log and
can get the poller banned by sshguard/fail2ban. A timeout may clear by the next poll."""

from datetime import timedelta

from hosts.choices import Reachability
from hosts.models import Host
from hosts.polling.run import PERMANENT_ERROR_BACKOFF
from tests.integration.conftest import poll


def test_an_auth_failure_backs_off_like_a_permanent_error_not_like_a_timeout(fleet):
    fleet.inject("web1", "auth-fail")
    fleet.inject("web2", "slow", "30")
    due_before = dict(Host.objects.values_list("name", "next_poll_at"))

    outcomes = poll("web1", "web2")

    refused, slow = Host.objects.get(name="web1"), Host.objects.get(name="web2")
    assert outcomes["web1"].reachability == Reachability.UNKNOWN
    assert "auth" in outcomes["web1"].reason
    assert refused.next_poll_at >= refused.last_poll_at + PERMANENT_ERROR_BACKOFF
    assert outcomes["web2"].reachability == Reachability.UNKNOWN
    assert slow.next_poll_at == due_before["web2"]  # left to the normal schedule


def test_a_host_without_credential_is_not_retried_every_interval(fleet):
    Host.objects.filter(name="web3").update(credential=None)

    poll("web3")

    host = Host.objects.get(name="web3")
    assert host.reachability == Reachability.UNKNOWN
    assert host.next_poll_at - host.last_poll_at >= max(
        PERMANENT_ERROR_BACKOFF, timedelta(seconds=host.poll_interval)
    )
