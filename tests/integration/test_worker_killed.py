"""RELIABILITY A2: a Celery worker SIGKILLed mid-poll loses nothing and duplicates nothing.

A real worker subprocess shares the test database (committed rows: transactional test) and a
broker with this process: Redis when REDIS_URL is set, else kombu's filesystem transport in
private folders under tmp_path. The worker gets one claimed poll of a host made slow, is
killed while that poll waits on SSH, and then: nothing of the poll was written, the host
keeps its last good data, the claim expires into exactly one `lost` PollRun, and a new
worker polls the host normally; the killed task's redelivery finds its claim stale.
"""

import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

import hosts.tasks
from hosts.choices import Reachability
from hosts.models import CarpVhid, Host, PollRun, StatusEvent
from hosts.polling.run import CONNECTIONS
from hosts.tasks import claim_due_hosts, sweep_poll_health
from hosts.tasks import poll_host as poll_task
from nyiops.processes import spawn, worker_argv
from tests.integration.conftest import poll

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
HOST = "fw1b"
LEASE_SECONDS = 3
READY_TIMEOUT = 60.0
FLIGHT_TIMEOUT = 15.0
POLL_TIMEOUT = 20.0


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}{port}/{db['NAME']}"
    raise AssertionError(f"no worker DATABASE_URL for engine {db['ENGINE']}")


class Harness:
    """Worker subprocesses sharing this test's database and a broker with it."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.var_dir = tmp_path / "worker-var"
        self.var_dir.mkdir()
        self.workers: list[tuple[subprocess.Popen, Path]] = []
        self.sent: list[str] = []  # task ids, to clean out of a shared Redis
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE")
        }
        self.env |= {
            "DATABASE_URL": _database_url(),
            "DB_CONN_MAX_AGE": "0",
            "NYIOPS_VAR_DIR": str(self.var_dir),
            "NYIOPS_POLL_LEASE_SECONDS": str(LEASE_SECONDS),
            "NYIOPS_SSH_COMMAND_TIMEOUT": "30",
            # `slow` stalls the SSH auth too: keep the poll waiting there, not timing out.
            "NYIOPS_SSH_AUTH_TIMEOUT": "30",
            "SECRET_KEY": settings.SECRET_KEY,
            "NYIOPS_SECRET_KEYS": ",".join(settings.NYIOPS_SECRET_KEYS),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "nyiops.settings",
        }
        if settings.REDIS_URL:
            self.env["REDIS_URL"] = settings.REDIS_URL
            self.broker = None  # the app's own (Redis) producer pool
        else:
            self.env.pop("REDIS_URL", None)
            # The same folders settings derive from NYIOPS_VAR_DIR in the worker.
            celery_dir = self.var_dir / "celery"
            for sub in ("queue", "processed", "control"):
                (celery_dir / sub).mkdir(parents=True)
            self.broker = Connection(
                "filesystem://",
                transport_options={
                    "data_folder_in": str(celery_dir / "queue"),
                    "data_folder_out": str(celery_dir / "queue"),
                    "processed_folder": str(celery_dir / "processed"),
                    "store_processed": False,
                    "control_folder": str(celery_dir / "control"),
                },
            )

    def start_worker(self) -> subprocess.Popen:
        n = len(self.workers) + 1
        log_path = self.tmp / f"worker-{n}.log"
        argv = worker_argv(
            "poll", 2, "-n", f"killtest-{uuid.uuid4().hex[:8]}-{n}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        )  # fmt: skip
        proc = spawn(argv, log=log_path, env=self.env)
        self.workers.append((proc, log_path))
        self.wait_log(proc, " ready.", READY_TIMEOUT, "worker ready")
        return proc

    def log(self, proc: subprocess.Popen) -> str:
        path = next(p for w, p in self.workers if w is proc)
        return path.read_text(errors="replace")

    def no_task_raised(self) -> bool:
        """True while no worker has logged a task that raised. In a wait's predicate, a task
        that failed ends the wait at once with its error, instead of at the deadline as if
        the task were only slow."""
        for _, path in self.workers:
            for line in path.read_text(errors="replace").splitlines():
                if " raised unexpected: " in line:
                    raise AssertionError(f"a task raised on {path.name}: {line[:500]}")
        return True

    def wait_log(self, proc, text: str, timeout: float, what: str, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.log(proc).count(text) < count:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited ({proc.returncode}) before: {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
            time.sleep(0.1)

    def send_poll(self, host_id: int, claim: str) -> str:
        sent = poll_task.apply_async((host_id, claim), queue="poll", connection=self.broker)
        self.sent.append(sent.id)
        return sent.id

    def _unacked(self, channel, task_id: str) -> list:
        client = channel.client
        return [
            tag
            for tag, payload in client.hgetall(channel.unacked_key).items()
            if json.loads(payload)[0]["headers"].get("id") == task_id
        ]

    def redeliver(self, task_id: str, host_id: int, claim: str) -> None:
        """What the broker does with a task whose worker died before acking it."""
        if self.broker is None:
            # Redis holds it unacked (acks_late) and restores it to its queue once the
            # visibility timeout has passed; restore it now the way kombu does then.
            with Connection(
                settings.CELERY_BROKER_URL,
                transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            ) as conn:
                channel = conn.default_channel
                tags = self._unacked(channel, task_id)
                assert len(tags) == 1, f"the killed task is not held unacked by Redis: {tags}"
                channel.qos.restore_by_tag(tags[0], leftmost=True)
        else:
            # The filesystem transport deletes a message as it delivers it, so nothing comes
            # back by itself: send the same task again, as a broker redelivery would.
            poll_task.apply_async(
                (host_id, claim), queue="poll", task_id=task_id, connection=self.broker
            )

    def stop_all(self) -> None:
        for proc, _ in self.workers:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if self.broker is not None:
            self.broker.release()
            self.broker = None
        elif self.sent:
            # Leave no task of ours unacked in a shared Redis (it would come back in an hour).
            with Connection(
                settings.CELERY_BROKER_URL,
                transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            ) as conn:
                channel = conn.default_channel
                for task_id in self.sent:
                    for tag in self._unacked(channel, task_id):
                        channel.client.hdel(channel.unacked_key, tag)
                        channel.client.zrem(channel.unacked_index_key, tag)
            self.sent = []

    def dump_logs(self) -> None:
        for proc, path in self.workers:
            print(f"----- {path.name} (rc={proc.returncode}) -----")
            print(path.read_text(errors="replace")[-20000:])


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(interval)


def open_sessions(fleet, name: str) -> int:
    return fleet.call(lambda: len(fleet.server.conns.get(name, ())))


def claim(host: Host) -> str:
    Host.objects.filter(pk=host.pk).update(next_poll_at=timezone.now())
    claims = claim_due_hosts()
    assert [pk for pk, _ in claims] == [host.pk], claims
    return claims[0][1]


def last_good(host: Host) -> dict:
    host.refresh_from_db()
    return {
        "reachability": host.reachability,
        "reason": host.reachability_reason,
        "last_poll_at": host.last_poll_at,
        "last_success_at": host.last_success_at,
        "carp": sorted(CarpVhid.objects.filter(host=host).values_list("vhid", "state")),
    }


def test_a_worker_killed_mid_poll_loses_nothing_and_duplicates_nothing(
    fleet, tmp_path, monkeypatch
):
    started = time.monotonic()
    # The claims below are made in this process: give them the worker's short lease.
    monkeypatch.setattr(hosts.tasks, "POLL_LEASE", timedelta(seconds=LEASE_SECONDS))
    Host.objects.exclude(name=HOST).update(enabled=False)
    host = Host.objects.get(name=HOST)
    assert poll(HOST)[HOST].reachability == "ok"  # last good data, before any fault
    CONNECTIONS.close_all()  # so every SSH session to the host from here on is the worker's
    wait_until(lambda: open_sessions(fleet, HOST) == 0, 5, "this process's session to close")
    good = last_good(host)
    assert good["carp"], good
    runs, events = PollRun.objects.count(), StatusEvent.objects.count()

    harness = Harness(tmp_path)
    try:
        # 1. A poll in flight on a worker that is then SIGKILLed.
        doomed = harness.start_worker()
        fleet.inject(HOST, "slow", "20")
        token = claim(host)
        claimed_until = Host.objects.get(pk=host.pk).poll_claimed_until
        killed_task = harness.send_poll(host.pk, token)
        harness.wait_log(doomed, f"poll_host[{killed_task}] received", FLIGHT_TIMEOUT, "receipt")
        wait_until(lambda: open_sessions(fleet, HOST) >= 1, FLIGHT_TIMEOUT, "SSH session open")
        time.sleep(0.3)  # well inside the 20 s stall: the poll is waiting on SSH auth
        assert doomed.poll() is None, "the worker finished before it could be killed"
        os.kill(doomed.pid, signal.SIGKILL)
        assert doomed.wait(timeout=10) == -signal.SIGKILL
        assert "succeeded" not in harness.log(doomed)

        # Nothing half-written, last good data kept, the claim still held (not released).
        assert PollRun.objects.count() == runs
        assert StatusEvent.objects.count() == events
        assert not PollRun.objects.filter(claim=token).exists()
        assert last_good(host) == good
        host.refresh_from_db()
        assert (host.poll_claim, host.poll_claimed_until) == (token, claimed_until)
        # While the lease runs, the host is not claimed again, even when due.
        Host.objects.filter(pk=host.pk).update(next_poll_at=timezone.now() - timedelta(seconds=10))
        assert claim_due_hosts(now=claimed_until - timedelta(milliseconds=1)) == []

        # 2. The lease runs out: the sweep records the lost poll once and frees the host.
        fleet.heal(HOST)
        wait_until(lambda: open_sessions(fleet, HOST) == 0, 10, "the dead worker's session gone")
        time.sleep(max(0.0, (claimed_until - timezone.now()).total_seconds()) + 0.2)
        sweep_poll_health()
        lost = list(PollRun.objects.filter(host=host, claim=token))
        assert [r.status for r in lost] == [PollRun.Status.LOST], lost
        assert PollRun.objects.filter(status=PollRun.Status.LOST).count() == 1
        assert StatusEvent.objects.count() == events
        assert last_good(host) == good

        # 3. A new worker: the killed task, redelivered, finds its claim stale; a new claim
        # polls the host normally.
        fresh = harness.start_worker()
        new_token = claim(host)
        assert new_token != token
        harness.redeliver(killed_task, host.pk, token)
        harness.wait_log(
            fresh,
            f"poll_host[{killed_task}] succeeded",
            POLL_TIMEOUT,
            "the redelivered task to finish",
        )
        assert f"host {host.pk}: stale claim" in harness.log(fresh)
        assert StatusEvent.objects.count() == events
        harness.send_poll(host.pk, new_token)
        wait_until(
            lambda: Host.objects.filter(
                pk=host.pk,
                last_poll_at__gt=good["last_poll_at"],
                reachability=Reachability.OK,
                poll_claimed_until__isnull=True,
            ).exists(),
            POLL_TIMEOUT,
            "the new worker's poll",
        )
        harness.wait_log(fresh, "succeeded", POLL_TIMEOUT, "both tasks done", count=2)
        assert f"{HOST}: ok" in harness.log(fresh)

        # Exactly one lost run, nothing else failed, and no status event duplicated.
        sweep_poll_health()
        assert list(
            PollRun.objects.filter(host=host)
            .exclude(status=PollRun.Status.OK)
            .values_list("claim", "status")
        ) == [(token, PollRun.Status.LOST)]
        assert not StatusEvent.objects.filter(poll__claim=token).exists()
        fields = ("host", "subject_type", "subject", "field", "old", "new")
        keys = Counter(StatusEvent.objects.values_list(*fields))
        assert {k: n for k, n in keys.items() if n > 1} == {}
        assert time.monotonic() - started < 60
    except BaseException:
        harness.dump_logs()
        raise
    finally:
        harness.stop_all()
