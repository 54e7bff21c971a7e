"""Dashboard server time at fleet scale: the overview and each live partial.

    .venv/bin/python bench/dashboard.py [--hosts 1000] [--jails 5000] [--runs 40]

Seeds a throw-away test database (SQLite file or the DATABASE_URL server's test_ database)
with 1,000 hosts in 500 clusters (firewall, load-balancer and jail-service pairs), 5,000+
jails, pools, mirrors, backups and a problem in every 20th cluster; then times each route
in-process through the full middleware stack (Django test client, logged in as NOC) and
prints p50/p95 in milliseconds and the query count. Partials are timed twice: a full render,
and the "nothing changed" answer (the client sends the version it holds, the server says
204). Targets: overview p95 < 150 ms, partial p95 < 30 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from hosts.models import Cluster, Host, Jail  # noqa: E402
from hosts.views import VERSION_HEADER, WIDGETS  # noqa: E402
from nyiops.roles import NOC, ensure_role_groups  # noqa: E402
from tests.dashboard.factories import seed_fleet  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}


def timed(client: Client, url: str, runs: int, extra: dict):
    response = client.get(url, **extra)  # warm-up (template loading, role look-ups)
    status = response.status_code
    queries = []
    # Counted with a wrapper: the request_started signal resets connection.queries.
    with connection.execute_wrapper(
        lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)
    ):
        client.get(url, **extra)
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, **extra)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == status, (url, response.status_code)
    return samples, cpu, len(queries), status


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--jails", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        # Two of every five pairs are jail-service pairs: 40 % of the hosts hold the jails.
        per_host = math.ceil(args.jails / max(1, round(args.hosts * 0.4)))
        started = time.perf_counter()
        seed_fleet(args.hosts, jails_per_host=per_host)
        seeded = time.perf_counter() - started
        ensure_role_groups()
        user = UserFactory(username="bench-noc", is_staff=True)
        user.groups.add(Group.objects.get(name=NOC))
        client = Client()
        client.force_login(user)
        print(
            f"seeded {Host.objects.count()} hosts, {Cluster.objects.count()} clusters, "
            f"{Jail.objects.count()} jails in {seeded:.1f} s on {connection.vendor}"
        )
        # Wall time is what a user waits; CPU time (this process) is the same minus waiting
        # for a busy machine, so the two together show when other load skews a run. With
        # SQLite in-process, CPU time includes the database's own work.
        print(
            f"{'route':40} {'status':>6} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}"
            f" {'p50 cpu':>8} {'p95 cpu':>8}"
        )
        routes = [("overview", reverse("hosts:overview"), {})]
        for name in WIDGETS:
            routes.append((f"partial {name}", reverse(f"hosts:widget-{name}"), HTMX))
        cluster = Cluster.objects.filter(kind="firewall").order_by("pk").first()
        routes += [
            ("cluster page", reverse("hosts:cluster", args=[cluster.pk]), {}),
            ("partial cluster-health", reverse("hosts:cluster-health", args=[cluster.pk]), HTMX),
            ("search 'j1'", reverse("hosts:search") + "?q=j1", {}),
        ]
        for label, url, extra in routes:
            report(client, label, url, extra, args.runs)
            if extra:
                version = client.get(url, **extra)[VERSION_HEADER]
                report(
                    client,
                    f"{label} (unchanged: 204)",
                    url,
                    {**extra, "HTTP_X_NYIOPS_VERSION": version},
                    args.runs,
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(client, label, url, extra, runs) -> None:
    samples, cpu, queries, status = timed(client, url, runs, extra)
    print(
        f"{label:40} {status:>6} {queries:>7} {pct(samples, 50):>8.1f} {pct(samples, 95):>8.1f}"
        f" {pct(cpu, 50):>8.1f} {pct(cpu, 95):>8.1f}"
    )


if __name__ == "__main__":
    main()
