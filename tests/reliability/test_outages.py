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
    other_sessions,
    wait_for_other_sessions_to_end,
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
    earlier = frozenset(other_sessions())  # left by earlier tests: not this test's to wait for
    started = {"redis": Redis(tmp_path), "procs": [], "proxies": []}
    yield started
    for proc in started["procs"]:
        proc.stop()
    for proxy in started["proxies"]:
        proxy.close()
    started["redis"].stop()
    wait_for_other_sessions_to_end(ignore=earlier)
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


@pytest.fixture
def database_through(settings):
    """Route this process's connections through a fault proxy in front of PostgreSQL, with
    persistent connections and health checks as in production; restored afterwards."""
    earlier = frozenset(other_sessions())
    db = connection.settings_dict
    saved = {k: db.get(k) for k in ("HOST", "PORT", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    proxy = FaultProxy(int(db.get("PORT") or 5432))
    connection.close()
    db.update(HOST="127.0.0.1", PORT=str(proxy.port), CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    yield proxy
    connection.close()
    db.update(saved)
    proxy.close()
    wait_for_other_sessions_to_end(ignore=earlier)


class Server:
    """Requests through Django's real WSGI handler: unlike the test client it sends
    request_started/finished, so connections are health-checked and closed as in gunicorn."""

    def __init__(self, cookie: str):
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import RequestFactory

        self.handler, self.factory, self.cookie = WSGIHandler(), RequestFactory(), cookie

    def get(self, path: str) -> tuple[int, str]:
        environ = self.factory.get(path, HTTP_COOKIE=f"sessionid={self.cookie}").environ
        status = []
        response = self.handler(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            body = b"".join(response).decode()
        finally:
            response.close()
        return int(status[0].split()[0]), body


@on_postgresql
def test_postgresql_dropped_for_ten_seconds_pages_answer_503_and_recover(
    database_through, noc_user
):
    """A6, web: a clean 503 (no traceback) for every page while connections are dropped and
    refused, /healthz says why, and the same process answers normally once it is back."""
    client = Client()
    client.force_login(noc_user)
    server = Server(client.cookies["sessionid"].value)
    assert server.get("/alerts/")[0] == 200
    proxy = database_through

    proxy.outage()
    during = []
    ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < ends:
        during += [server.get("/alerts/"), server.get("/healthz")]
        time.sleep(0.5)
    connections_before = proxy.accepted
    proxy.restore()
    after = [server.get("/alerts/"), server.get("/healthz")]

    assert {status for status, _ in during} == {503}
    pages = [body for status, body in during[::2]]
    assert all("temporarily unavailable" in b and "Traceback" not in b for b in pages)
    assert '"database": "unreachable: connection failed' in during[1][1]
    assert [status for status, _ in after] == [200, 200]
    assert proxy.accepted > connections_before  # reconnected by itself: no restart


@on_postgresql
def test_worker_survives_postgresql_dropped_for_ten_seconds(
    stack, tmp_path, oncall_user, noc_user, monkeypatch, settings
):
    """A6, worker: tasks that meet the outage retry with backoff (escalation) or wait for
    the next beat tick (canaries); the worker recovers without a restart and the escalation
    step runs exactly once."""
    from alerts import dispatch, services
    from alerts.choices import EventKind
    from alerts.tasks import escalate_alert
    from tests.alerts.factories import oncall_setup

    settings.NYIOPS_ALERT_HOLD_SECONDS = 0
    proxy = FaultProxy(int(connection.settings_dict.get("PORT") or 5432))
    stack["proxies"].append(proxy)
    redis = stack["redis"]
    env = celery_env(
        tmp_path,
        redis_url=redis.url,
        database=database_url(port=proxy.port),
        DB_CONN_MAX_AGE="60",
        NYIOPS_ALERT_HOLD_SECONDS="0",
    )
    stack["procs"] += [Celery(tmp_path, "worker", env), Celery(tmp_path, "beat", env)]
    oncall_setup(oncall_user, noc_user)
    monkeypatch.setattr(dispatch, "_send", lambda *a, **k: None)  # sent by hand below
    host = HostFactory(next_poll_at=timezone.now() + timedelta(days=1))
    FindingFactory(host=host)
    services.sync_alerts([f"host:{host.pk}"])
    alert = Alert.objects.get(host=host)
    wait_until(lambda: canaries_after(timezone.now().replace(year=2000)), 90, "first canaries")

    proxy.outage()
    with app_broker(redis.url):
        escalate_alert.apply_async((alert.pk, alert.escalation_token))
    worker = stack["procs"][0]
    wait_until(lambda: "Retry in" in worker.log(), OUTAGE_SECONDS, "the escalation to retry")
    time.sleep(OUTAGE_SECONDS)
    proxy.restore()
    recovered_at = timezone.now()
    wait_until(lambda: canaries_after(recovered_at), 45, "canaries after the outage")
    wait_until(
        lambda: Notification.objects.filter(alert=alert, status="sent").exists(),
        45,
        "the escalation step to run and its page to be sent",
    )

    assert "OperationalError" in worker.log()
    assert Notification.objects.filter(alert=alert).count() == 1
    steps = alert.events.filter(kind=EventKind.ESCALATED, text__startswith="step 1 of 3")
    assert steps.count() == 1  # nothing ran twice, nothing half-written
    assert all(p.proc.poll() is None for p in stack["procs"])
