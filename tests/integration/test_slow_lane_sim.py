"""The slow lane against the simulated fleet: a tarpit's timed-out poll sends its next poll to
the slow lane, off its batch's wait, and a successful poll there brings it back."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.models import Host, PollRun
from hosts.tasks import poll_hosts

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]  # poll threads' own


def claim(*names: str) -> list[tuple[int, str]]:
    token = str(uuid.uuid4())
    until = timezone.now() + timedelta(minutes=1)
    Host.objects.filter(name__in=names).update(poll_claim=token, poll_claimed_until=until)
    return [(pk, token) for pk in Host.objects.filter(name__in=names).values_list("pk", flat=True)]


def test_a_tarpit_is_polled_on_the_slow_lane_until_a_poll_of_it_succeeds(fleet):
    web2 = Host.objects.get(name="web2")
    fleet.inject("web2", "slow", "30")  # connections hang before the SSH banner
    poll_hosts(claim("web2"))
    assert PollRun.objects.filter(host=web2).latest("started_at").status == "timed_out"
    fleet.heal("web2")

    summary = poll_hosts(claim("web1", "web2"))

    assert f"host {web2.pk}: handed to the slow lane" in summary
    assert "web1: ok" in summary
    assert fleet.wait_for(lambda _: Host.objects.get(pk=web2.pk).reachability == "ok")
    assert "web2: ok" in poll_hosts(claim("web2"))  # back on the regular threads
