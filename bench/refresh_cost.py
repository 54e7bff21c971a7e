"""What a live widget's unchanged refresh (the 204) costs, by how the request finds its user.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/refresh_cost.py
        [--rounds 5] [--requests 400] [--busy 0]

Every refresh of a widget goes through the whole middleware stack before the view finds the
widget unchanged: the session, the user, the user's 2FA device and role groups, then the
dashboard's generation. Three ways of reading those are timed, in the same process and
interleaved round by round (each round in a rotated order), so a machine that drifts during
the run drifts for all three:

- `Django's ORM look-ups`: Django's database sessions, ModelBackend and django-otp's
  middleware, each look-up an ORM query (session, user, groups, device: what every request
  did before this issue);
- `nyiops: plain SQL`: the same rows, the groups read with the user, each statement built
  once and sent as text (nyiops.sessions, nyiops.roles.RolesBackend,
  nyiops.twofactor.OTPMiddleware: nyiops's setup);
- `nyiops + Redis sessions`: the session read from Redis instead (Django's cached_db
  engine). Measured to decide whether to deploy it: it is not (BENCHMARKS.md, issue 12).

Each request is timed in wall and CPU time (this process) through Django's test client, on a
PostgreSQL test database with a small fleet (a 204's work does not depend on the fleet's
size: tests/dashboard/test_query_counts.py). `--busy N` runs N processes that spin
meanwhile, at the same priority: the cores are contended as when the poller runs, but
steadily, so the three setups meet the same contention.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

import django  # noqa: E402

django.setup()

from _common import percentile  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from nyiops.htmx import VERSION_HEADER  # noqa: E402
from nyiops.roles import NOC, ensure_role_groups  # noqa: E402
from tests.dashboard.factories import seed_fleet  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.otp import verify_session  # noqa: E402

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}
AXES = "axes.backends.AxesStandaloneBackend"
NYIOPS_OTP = "nyiops.twofactor.OTPMiddleware"


def setups(redis_url: str) -> dict[str, dict]:
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "bench-refresh",
        }
    }
    local_cache = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    django_otp = [
        "django_otp.middleware.OTPMiddleware" if m == NYIOPS_OTP else m for m in settings.MIDDLEWARE
    ]
    return {
        "Django's ORM look-ups (5 queries)": {
            "CACHES": local_cache,
            "SESSION_ENGINE": "django.contrib.sessions.backends.db",
            "AUTHENTICATION_BACKENDS": [AXES, "django.contrib.auth.backends.ModelBackend"],
            "MIDDLEWARE": django_otp,
        },
        "nyiops: plain SQL (4 queries)": {
            "CACHES": local_cache,
            "SESSION_ENGINE": "nyiops.sessions",
            "AUTHENTICATION_BACKENDS": [AXES, "nyiops.roles.RolesBackend"],
            "MIDDLEWARE": settings.MIDDLEWARE,
        },
        "nyiops + Redis sessions (3)": {
            "CACHES": redis_cache,
            "SESSION_ENGINE": "django.contrib.sessions.backends.cached_db",
            "AUTHENTICATION_BACKENDS": [AXES, "nyiops.roles.RolesBackend"],
            "MIDDLEWARE": settings.MIDDLEWARE,
        },
    }


def spin(stop) -> None:
    while not stop.is_set():
        pass


def one_round(user, url: str, requests: int) -> tuple[list[float], list[float], int]:
    """A new login under the current settings, then `requests` unchanged refreshes."""
    client = Client()
    client.force_login(user)
    verify_session(client, user)
    version = client.get(url, **POLL)[VERSION_HEADER]
    unchanged = {**POLL, "HTTP_X_NYIOPS_VERSION": version}
    for _ in range(20):  # warm-up: the setup's first look-ups and connections
        client.get(url, **unchanged)
    queries = []

    # Counted with a wrapper: the request_started signal resets connection.queries.
    def counted(execute, sql, *rest):
        queries.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(counted):
        assert client.get(url, **unchanged).status_code == 204
    wall, cpu = [], []
    while len(wall) < requests:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, **unchanged)
        if response.status_code != 204:
            # The widget changed (its epoch rolled over): take the new version, as htmx
            # does, and time the next one.
            assert response.status_code == 200, response.status_code
            unchanged["HTTP_X_NYIOPS_VERSION"] = response[VERSION_HEADER]
            continue
        cpu.append((time.process_time() - cpu_started) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes meanwhile")
    args = parser.parse_args()
    redis_url = os.environ.get("CACHE_URL") or settings.REDIS_URL
    if connection.vendor != "postgresql" or not redis_url.startswith("redis://"):
        parser.error("needs DATABASE_URL (PostgreSQL) and REDIS_URL or CACHE_URL (Redis)")

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=spin, args=(stop,)) for _ in range(args.busy)]
    try:
        seed_fleet(20, jails_per_host=2)
        ensure_role_groups()
        user = UserFactory(username="bench-noc", is_staff=True)
        user.groups.add(Group.objects.get(name=NOC))
        url = reverse("hosts:widget-firewalls")
        results = {name: ([], [], 0) for name in setups(redis_url)}
        for spinner in spinners:
            spinner.start()
        names = list(results)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                with override_settings(**setups(redis_url)[name]):
                    wall, cpu, queries = one_round(user, url, args.requests)
                results[name][0].extend(wall)
                results[name][1].extend(cpu)
                results[name] = (results[name][0], results[name][1], queries)
        print(
            f"unchanged refresh of {url}, {args.rounds} rounds x {args.requests} requests, "
            f"{args.busy} spinning processes, {os.cpu_count()} cores"
        )
        heads = ("queries", "p50 ms", "p95 ms", "p50 cpu", "p95 cpu")
        print(f"{'setup':34} " + " ".join(f"{head:>7}" for head in heads))
        for name, (wall, cpu, queries) in results.items():
            print(
                f"{name:34} {queries:>7} {percentile(wall, 50):>7.2f} {percentile(wall, 95):>7.2f}"
                f" {percentile(cpu, 50):>7.2f} {percentile(cpu, 95):>7.2f}"
            )
    finally:
        stop.set()
        for spinner in spinners:
            if spinner.pid is not None:
                spinner.join()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
