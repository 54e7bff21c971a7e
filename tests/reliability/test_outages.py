"""RELIABILITY A5 and A6 with real processes: Redis refused for 10 s (a fault proxy), a
restarted redis-server, and PostgreSQL connections dropped for 10 s.

Each test starts its own redis-server on a free port, a Celery worker (threads pool, every
queue) and beat, sharing this test's database (transactional test: rows are committed).
Beat sends a canary to every queue each second here (60 s in production); /healthz/worker
is judged with a 4 s window. Waits are for events, with generous ceilings; no assertion is
about how long something took. The time from recovery to the first canary is printed
(docs/reliability.md keeps the numbers)."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

import hosts.tasks
from alerts.models import Alert, Heartbeat, Notification
from alerts.tasks import worker_canary
from hosts.models import PollRun
from nyiops.celery import QUEUES
from tests.alerts.factories import FindingFactory, email_channel
from tests.factories import HostFactory
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.stack import (
    Celery,
    Redis,
    app_broker,
    celery_env,
    database_url,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 10
LIVENESS_WINDOW = 4


def canaries_after(moment, queues=QUEUES) -> bool:
    seen = dict(
        Heartbeat.objects.filter(name__startswith="worker.canary.").values_list("name", "at")
    )
    return all(seen.get(f"worker.canary.{q}", moment) > moment for q in queues)


@pytest.fixture
def stack(tmp_path, settings):
    """redis-server, then (by the test) a worker and beat; everything stopped afterwards."""
    settings.NYIOPS_WORKER_LIVENESS_SECONDS = LIVENESS_WINDOW
    started = {"redis": Redis(tmp_path), "procs": [], "proxies": []}
    yield started
    for proc in started["procs"]:
        proc.stop()
    for proxy in started["proxies"]:
        proxy.close()
    started["redis"].stop()
    for proc in started["procs"]:
        print(f"--- {proc.log_path.name} (tail)\n{proc.log()[-3000:]}")


def start_celery(stack, tmp_path, broker_url, **extra) -> None:
    env = celery_env(tmp_path, redis_url=broker_url, database=database_url(), **extra)
    stack["procs"] += [Celery(tmp_path, "worker", env), Celery(tmp_path, "beat", env)]


def an_alert_that_paged(user) -> Alert:
    from alerts import services

    host = HostFactory(next_poll_at=timezone.now() + timedelta(days=1))
    FindingFactory(host=host)
    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get(host=host)
    Notification.objects.create(
        alert=alert,
        generation=1,
        step=0,
        channel=email_channel(user),
        recipient=user,
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
        status="sent",
    )
    return alert


def test_redis_refused_for_ten_seconds_everything_resumes_without_restart(
    stack, tmp_path, noc_user, oncall_user
):
    """A5: workers and beat resume by themselves, the liveness probe says "not consuming"
    during the stall, web requests that publish never 500, and the poll dispatcher gives
    back the claims it could not publish."""
    proxy = FaultProxy(stack["redis"].port)
    stack["proxies"].append(proxy)
    broker = f"redis://127.0.0.1:{proxy.port}/0"
    start_celery(stack, tmp_path, broker)
    web = Client(raise_request_exception=False)
    web.force_login(noc_user)
    alert = an_alert_that_paged(oncall_user)
    wait_until(lambda: web.get("/healthz/worker").status_code == 200, 90, "first canaries")

    proxy.outage()
    outage_began = time.monotonic()
    with app_broker(broker):
        resolved = web.post(f"/alerts/{alert.pk}/resolve/", {"note": "during the outage"})
        due = HostFactory(next_poll_at=timezone.now())
        dispatched = hosts.tasks.dispatch_due_polls()
    stalled = wait_until(
        lambda: (r := web.get("/healthz/worker")).status_code == 503 and r.json(),
        OUTAGE_SECONDS + 5,
        "the liveness probe to report the stall",
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_began)))
    proxy.restore()
    recovered_at = timezone.now()
    t0 = time.monotonic()
    wait_until(lambda: canaries_after(recovered_at), 45, "canaries sent by beat after recovery")
    print(f"A5 proxy: recovery -> canaries on every queue: {time.monotonic() - t0:.1f} s")
    with app_broker(broker):
        worker_canary.apply_async(("sent-after-recovery",), queue="operations")
    wait_until(
        lambda: Heartbeat.objects.filter(name="worker.canary.sent-after-recovery").exists(),
        30,
        "a canary published by the web process after recovery",
    )
    # The released host was claimed by beat's first dispatch after recovery and polled (it
    # is not a real host: the poll fails and says so).
    wait_until(lambda: PollRun.objects.filter(host=due).exists(), 30, "the released host's poll")

    assert resolved.status_code == 302
    assert Notification.objects.filter(alert=alert, purpose="resolved").count() == 1
    assert dispatched == "dispatched 0 polls; broker unavailable, released 1 claims"
    assert stalled["status"] == "not consuming"
    assert PollRun.objects.get(host=due).error == "connection refused"
    assert web.get("/healthz/worker").status_code == 200
    assert all(p.proc.poll() is None for p in stack["procs"])  # nothing was restarted


def test_redis_server_restarted_worker_and_beat_resume_without_restart(stack, tmp_path):
    """A5, restart variant: the private redis-server is stopped for 10 s and started again
    on the same port (an empty server: no persistence)."""
    redis = stack["redis"]
    start_celery(stack, tmp_path, redis.url)
    wait_until(lambda: canaries_after(timezone.now().replace(year=2000)), 90, "first canaries")

    redis.stop()
    time.sleep(OUTAGE_SECONDS)
    redis.start()
    recovered_at = timezone.now()
    t0 = time.monotonic()
    wait_until(lambda: canaries_after(recovered_at), 45, "canaries after the restart")
    print(f"A5 restart: recovery -> canaries on every queue: {time.monotonic() - t0:.1f} s")

    assert all(p.proc.poll() is None for p in stack["procs"])


on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the proxy stands in front of PostgreSQL"
)
