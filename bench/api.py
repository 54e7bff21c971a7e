"""REST API and /metrics server time at fleet scale.

    .venv/bin/python bench/api.py [--hosts 1000] [--jails 5000] [--runs 40]

Seeds a throw-away test database (as bench/dashboard.py does: 1,000 hosts in 500 clusters,
5,000 jails, pools, mirrors, backups, a problem in every 20th cluster, plus 5,000 status
events and 200 alerts), then times each API list endpoint (first page, default page size
100) in-process through the full middleware stack with a NOC token and with a customer
token, plus a full `/metrics` scrape (current-state collector, broker part skipped), and
prints p50/p95 wall and CPU milliseconds and the query count. Targets: API list p95
<= 100 ms, /metrics p95 <= 200 ms.
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

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from alerts.models import Alert  # noqa: E402
from api.metrics import StateCollector  # noqa: E402
from api.tokens import create_token  # noqa: E402
from customers.models import Customer, Membership  # noqa: E402
from hosts.models import Cluster, Host, Jail, StatusEvent  # noqa: E402
from nyiops.roles import CUSTOMER, NOC, ensure_role_groups  # noqa: E402
from tests.dashboard.factories import seed_fleet  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

ROUTES = [
    "/api/hosts/",
    "/api/hosts/?customer=cust-3&role=firewall",
    "/api/clusters/",
    "/api/cluster-health/",
    "/api/cluster-health/?health=critical",
    "/api/vhids/",
    "/api/pools/",
    "/api/mirrors/",
    "/api/jails/",
    "/api/backends/",
    "/api/backup-runs/",
    "/api/findings/",
    "/api/events/",
    "/api/alerts/?open=true",
]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(client, url: str, runs: int, headers: dict):
    client.get(url, **headers)  # warm-up
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)
    ):
        response = client.get(url, **headers)
    status = response.status_code
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, **headers)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == status, (url, response.status_code)
    return samples, cpu, len(queries), status


def seed_history(events: int, alerts: int) -> None:
    now = timezone.now()
    hosts = list(Host.objects.values_list("pk", "customer_id"))
    StatusEvent.objects.bulk_create(
        StatusEvent(
            host_id=hosts[i % len(hosts)][0],
            at=now,
            subject_type="carp",
            subject="vhid 1@em0",
            field="state",
            old="BACKUP",
            new="MASTER",
        )
        for i in range(events)
    )
    Alert.objects.bulk_create(
        Alert(
            dedup_key=f"bench:{i}",
            scope=f"host:{hosts[i][0]}",
            kind="mirror_degraded",
            severity="warning",
            subject="bench",
            message="bench",
            host_id=hosts[i][0],
            customer_id=hosts[i][1],
            opened_at=now,
            last_seen_at=now,
        )
        for i in range(min(alerts, len(hosts)))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--jails", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    setup_test_environment()
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []  # measure work, not the limiter
    StateCollector._queues = lambda self: iter(())  # the broker is not what is measured
    settings.NYIOPS_METRICS_TOKEN = "bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        per_host = math.ceil(args.jails / max(1, round(args.hosts * 0.4)))
        started = time.perf_counter()
        seed_fleet(args.hosts, jails_per_host=per_host)
        seed_history(events=5 * args.hosts, alerts=200)
        seeded = time.perf_counter() - started
        ensure_role_groups()
        noc = UserFactory(username="bench-noc", is_staff=True)
        noc.groups.add(Group.objects.get(name=NOC))
        cust = UserFactory(username="bench-customer")
        cust.groups.add(Group.objects.get(name=CUSTOMER))
        Membership.objects.create(user=cust, customer=Customer.objects.get(slug="cust-3"))
        tokens = {
            "noc": {"HTTP_AUTHORIZATION": f"Bearer {create_token(noc, name='b')[1]}"},
            "customer": {"HTTP_AUTHORIZATION": f"Bearer {create_token(cust, name='b')[1]}"},
        }
        print(
            f"seeded {Host.objects.count()} hosts, {Cluster.objects.count()} clusters, "
            f"{Jail.objects.count()} jails, {StatusEvent.objects.count()} events in "
            f"{seeded:.1f} s on {connection.vendor}"
        )
        print(
            f"{'route':48} {'as':8} {'status':>6} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7}"
            f" {'p50 cpu':>7} {'p95 cpu':>7}"
        )
        client = APIClient()
        for url in ROUTES:
            for who in ("noc", "customer"):
                report(client, url, who, tokens[who], args.runs)
        report(client, "/metrics", "scraper", {"HTTP_AUTHORIZATION": "Bearer bench"}, args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(client, url, who, headers, runs) -> None:
    samples, cpu, queries, status = timed(client, url, runs, headers)
    print(
        f"{url:48} {who:8} {status:>6} {queries:>7} {pct(samples, 50):>7.1f}"
        f" {pct(samples, 95):>7.1f} {pct(cpu, 50):>7.1f} {pct(cpu, 95):>7.1f}"
    )


if __name__ == "__main__":
    main()
