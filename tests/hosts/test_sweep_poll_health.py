"""The poll-health sweeper hands the stale scopes it changed to the listeners (alerts) in
small groups, so one overloaded sweep never holds every stale alert in one transaction."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.models import Finding, Host
from hosts.signals import findings_updated
from hosts.tasks import STALE_SCOPES_PER_SIGNAL, sweep_poll_health
from tests.factories import HostFactory

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def signalled():
    sent: list[list[str]] = []

    def receiver(sender, *, scopes, **kwargs):
        sent.append(list(scopes))

    findings_updated.connect(receiver, dispatch_uid="test-sweep-capture")
    yield sent
    findings_updated.disconnect(dispatch_uid="test-sweep-capture")


def test_every_stale_scope_is_signalled_once_in_groups(signalled):
    long_ago = timezone.now() - timedelta(hours=1)
    hosts = HostFactory.create_batch(STALE_SCOPES_PER_SIGNAL + 7)
    Host.objects.filter(pk__in=[h.pk for h in hosts]).update(last_poll_at=long_ago)

    sweep_poll_health()

    assert [len(group) for group in signalled] == [STALE_SCOPES_PER_SIGNAL, 7]
    assert sorted(s for group in signalled for s in group) == sorted(f"poll:{h.pk}" for h in hosts)
    assert Finding.objects.filter(kind="poll_stale").count() == len(hosts)
