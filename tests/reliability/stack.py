"""Real processes for outage tests: a private redis-server, Celery worker and beat sharing
this test's database. Loopback only; every process is ours and stopped by PID."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from nyiops.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, step: float = 0.1):
    """Wait for an event (not a duration): the predicate's first truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(step)


def database_url(port: int | None = None) -> str:
    """This test's database as a DATABASE_URL, optionally through a proxy's port."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    port = port or db.get("PORT") or 5432
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


class Redis:
    """A private redis-server on a free port (no persistence), restartable on that port."""

    def __init__(self, tmp: Path):
        self.tmp, self.port, self.proc = tmp, free_port(), None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.tmp / "redis.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._answers, 10, "redis-server to answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


class Celery:
    """`celery worker` (threads pool, all queues) or `celery beat` with this test's env."""

    def __init__(self, tmp: Path, kind: str, env: dict):
        self.log_path = tmp / f"{kind}.log"
        args = [sys.executable, "-m", "celery", "-A", "nyiops", kind, "--loglevel", "INFO"]
        if kind == "worker":
            args += [
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "-Q",
                "poll,operations,notify",
                "-n",
                f"outage-{os.getpid()}-{free_port()}@%h",
                "--without-gossip",
                "--without-mingle",
            ]
        else:
            args += ["--schedule", str(tmp / "beat-schedule")]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                args,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def celery_env(tmp: Path, *, redis_url: str, database: str, **extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER")
    }
    var = tmp / "var"
    var.mkdir(exist_ok=True)
    return env | {
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "NYIOPS_VAR_DIR": str(var),
        "SECRET_KEY": settings.SECRET_KEY,
        "NYIOPS_SECRET_KEYS": ",".join(settings.NYIOPS_SECRET_KEYS),
        "DJANGO_SETTINGS_MODULE": "nyiops.settings",
        "PYTHONUNBUFFERED": "1",
        "NYIOPS_CANARY_INTERVAL": "1",
        # Beat's poll dispatcher has nothing to do here; keep its chatter down.
        "NYIOPS_DISPATCH_INTERVAL": "5",
        **extra,
    }


@contextlib.contextmanager
def app_broker(url: str):
    """Point this process's Celery app (what web requests and the dispatcher publish with)
    at `url`, with the production Redis options; restored afterwards."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options

    def reset_pools():
        # Forget, not close: kombu keeps pools per broker URL in a global registry, and
        # the app would be handed the same (closed) pool back.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    conf.broker_url, conf.broker_transport_options = url, dict(settings.REDIS_TRANSPORT_OPTIONS)
    try:
        yield
    finally:
        reset_pools()
        conf.broker_url, conf.broker_transport_options = saved


def other_sessions() -> set[int]:
    """Backend pids of the other sessions on the test database now (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def wait_for_other_sessions_to_end(timeout: float = 15, ignore: frozenset = frozenset()) -> None:
    """PostgreSQL ends a backend whose client was reset a moment later; the test database
    can only be dropped once every other session on it is gone. `ignore`: sessions that were
    there before the test started its own processes (not this test's to wait for)."""
    if connection.vendor != "postgresql":
        return

    def alone() -> bool:
        return not (other_sessions() - ignore)

    try:
        wait_until(alone, timeout, "other sessions on the test database to end", step=0.2)
    except AssertionError:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, client_port, state, backend_start, query FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND NOT (pid = ANY(%s))",
                [list(ignore)],
            )
            raise AssertionError(f"sessions left: {cursor.fetchall()}") from None
