"""RELIABILITY A5, in-process half: what each piece does when the broker refuses a publish,
and how worker liveness is judged. The real outage (a proxy that resets and refuses Redis
for 10 s, a restarted redis-server) is tests/reliability/test_outages.py."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

import hosts.tasks
from alerts import liveness
from alerts.models import Alert
from hosts.models import Host
from nyiops.celery import QUEUES
from nyiops.celery import app as celery_app
from tests.alerts.factories import FindingFactory, email_channel
from tests.factories import HostFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_dispatcher_releases_the_claims_it_could_not_publish(clock, monkeypatch, settings):
    settings.NYIOPS_POLL_BATCH = 1  # one host per poll task: the second publish fails
    hosts_ = [HostFactory(next_poll_at=T0 - dt.timedelta(seconds=1)) for _ in range(4)]
    published = []

    def publish(args, **kwargs):
        if len(published) == 1:
            raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        (batch,) = args
        published.extend(batch)

    monkeypatch.setattr(hosts.tasks.poll_hosts, "apply_async", publish)

    summary = hosts.tasks.dispatch_due_polls()

    assert summary == "dispatched 1 polls; broker unavailable, released 3 claims"
    ((sent_pk, sent_claim),) = published
    claims = {h.pk: h for h in Host.objects.filter(pk__in=[h.pk for h in hosts_])}
    assert claims[sent_pk].poll_claim == sent_claim and claims[sent_pk].poll_claimed_until
    for pk, host in claims.items():
        if pk != sent_pk:
            # Free and due now: the first sweep after the broker returns polls it.
            assert host.poll_claimed_until is None and host.next_poll_at == T0


def test_released_hosts_are_claimed_again_by_the_next_sweep(clock, monkeypatch):
    HostFactory(next_poll_at=T0)

    def refuse(*args, **kwargs):
        raise BrokerError("Connection refused")

    monkeypatch.setattr(hosts.tasks.poll_hosts, "apply_async", refuse)
    hosts.tasks.dispatch_due_polls()
    clock.shift(dt.timedelta(seconds=2))

    assert len(hosts.tasks.claim_due_hosts()) == 1


def test_web_request_whose_task_cannot_be_published_still_succeeds(
    client, noc_user, oncall_user, monkeypatch, django_capture_on_commit_callbacks
):
    """Resolving an alert that paged someone enqueues the resolution notice on commit; with
    the broker down the page answers normally and the outbox row waits for the sweeper."""
    host = HostFactory()
    FindingFactory(host=host)
    from alerts import services
    from alerts.models import Notification

    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get()
    Notification.objects.create(
        alert=alert,
        generation=1,
        step=0,
        channel=email_channel(oncall_user),
        recipient=oncall_user,
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
        status="sent",
    )

    def refuse(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", refuse)
    client.force_login(noc_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/alerts/{alert.pk}/resolve/", {"note": "fixed"})

    assert response.status_code == 302
    # Saved, pending: the 15 s sweeper (escalate_due) sends it once the broker is back.
    assert Notification.objects.filter(purpose="resolved", status="pending").count() == 1


def test_publishing_gives_up_within_about_a_second():
    """Web requests publish inline: a dead broker must cost them little, not hang them."""
    policy = celery_app.conf.task_publish_retry_policy
    worst = sum(
        min(policy["interval_start"] + i * policy["interval_step"], policy["interval_max"])
        for i in range(policy["max_retries"])
    )
    options = celery_app.conf.broker_transport_options

    assert worst <= 1.5
    if celery_app.conf.broker_url.startswith("redis"):
        assert options["socket_connect_timeout"] <= 5 and options["socket_timeout"] <= 5


def test_every_queue_gets_a_canary_from_beat_that_expires_within_its_interval():
    canaries = {
        entry["options"]["queue"]: entry
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == "alerts.tasks.worker_canary"
    }

    assert set(canaries) == set(QUEUES)
    for queue, entry in canaries.items():
        assert entry["args"] == (queue,)
        assert entry["options"]["expires"] <= entry["schedule"]


def test_worker_is_live_while_every_queue_completes_its_canary_in_the_window(clock, settings):
    settings.NYIOPS_WORKER_LIVENESS_SECONDS = 120
    for queue in QUEUES:
        liveness.record_canary(queue, timezone.now())
    clock.shift(dt.timedelta(seconds=120))

    report = liveness.worker_liveness(QUEUES, timezone.now())

    assert report["status"] == "ok"
    assert all(q["consuming"] for q in report["queues"].values())


def test_a_stalled_queue_reports_not_consuming_with_the_reason(clock, settings, client):
    settings.NYIOPS_WORKER_LIVENESS_SECONDS = 120
    for queue in QUEUES:
        liveness.record_canary(queue, timezone.now())
    clock.shift(dt.timedelta(seconds=100))
    liveness.record_canary("notify", timezone.now())
    clock.shift(dt.timedelta(seconds=21))

    response = client.get("/healthz/worker")

    body = response.json()
    assert response.status_code == 503 and body["status"] == "not consuming"
    assert body["queues"]["poll"] == {
        "consuming": False,
        "last_canary_at": T0.isoformat(),
        "age_s": 121.0,
        "reason": "last canary completed 121 s ago (limit 120 s)",
    }
    assert body["queues"]["notify"]["consuming"] is True


def test_no_canary_yet_is_not_consuming(client):
    body = client.get("/healthz/worker").json()

    assert body["status"] == "not consuming"
    assert body["queues"]["operations"] == {
        "consuming": False,
        "reason": "no canary has completed yet",
    }


def test_canary_task_records_its_queue(clock):
    from alerts.tasks import worker_canary

    assert worker_canary("operations") == "canary on operations"
    assert liveness.worker_liveness(["operations"], timezone.now())["status"] == "ok"
