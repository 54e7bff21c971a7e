"""Customer portal server time at scale, and approval-to-running time on the demo fleet.

    NYIOPS_VAR_DIR=/tmp/bench .venv/bin/python bench/portal.py pages [--hosts 4000] [--runs 40]
    NYIOPS_VAR_DIR=/tmp/bench .venv/bin/python bench/portal.py provision [--runs 10]

(A var dir of its own: the test database file would otherwise be the test suite's.)

`pages` seeds a throw-away test database with 4,000 hosts for 100 customers (6,400 jails,
pools, clusters, backups, a problem in every 20th cluster) plus 10 jail requests per
customer, then times the portal page, each live partial (full render and the 204
"unchanged" answer), a request's status partial and the NOC approval queue (50 pending),
in-process through the whole middleware stack, as one customer user (about 40 hosts and
64 jails of their own) and as NOC. Targets: page p95 <= 100 ms, partials p95 <= 30 ms.

`provision` starts the demo fleet (fleetsim, real SSH on loopback), imports and polls it,
then `--runs` times: a staging-twin request for Initech is approved and its operation run
(what the worker does) until the jail is verified running from a fresh poll; it reports
approval -> running p50/p95. The Celery hand-off (broker delivery to a worker) and the beat
sweep that marks the request ready (every 2 s) are not in the number: add them for `make
demo` (see BENCHMARKS.md). Target: p95 <= 15 s.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
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

from customers.models import Customer, JailRequest, Membership  # noqa: E402
from hosts.models import Cluster, Host, Jail  # noqa: E402
from hosts.views import VERSION_HEADER  # noqa: E402
from nyiops.roles import CUSTOMER, NOC, ensure_role_groups  # noqa: E402
from portal.widgets import WIDGETS  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}
STATUSES = ["ready"] * 6 + ["rejected", "cancelled", "failed", "pending"]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(client: Client, url: str, runs: int, extra: dict):
    response = client.get(url, **extra)  # warm-up
    status = response.status_code
    queries = []
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


def report(client, label, url, extra, runs) -> None:
    # Wall time is what a user waits; CPU time (this process, SQLite included) shows how
    # much of it is other load on a shared machine.
    samples, cpu, queries, status = timed(client, url, runs, extra)
    print(
        f"{label:40} {status:>6} {queries:>7} {pct(samples, 50):>8.1f} {pct(samples, 95):>8.1f}"
        f" {pct(cpu, 50):>8.1f} {pct(cpu, 95):>8.1f}"
    )


def seed_requests(per_customer: int = 10) -> None:
    rows, n = [], 0
    for customer in Customer.objects.order_by("pk"):
        for i in range(per_customer):
            n += 1
            rows.append(
                JailRequest(
                    customer=customer,
                    purpose="staging",
                    name=f"req{i}",
                    hostname=f"req{i}.{customer.slug}.example",
                    size_gb=5,
                    ip=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                    status=STATUSES[i % len(STATUSES)],
                    status_text="bench",
                    preview={"key": {}},
                )
            )
    JailRequest.objects.bulk_create(rows)


def pages(args) -> None:
    from tests.dashboard.factories import seed_fleet

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        seed_fleet(args.hosts, jails_per_host=args.jails_per_host)
        seed_requests()
        ensure_role_groups()
        # A customer with jail hosts: 40 hosts, 64 jails, 20 clusters, 10 requests.
        customer = Customer.objects.filter(hosts__jails__isnull=False).order_by("pk").first()
        user = UserFactory(username="bench-customer")
        user.groups.add(Group.objects.get(name=CUSTOMER))
        Membership.objects.create(user=user, customer=customer)
        noc = UserFactory(username="bench-noc", is_staff=True)
        noc.groups.add(Group.objects.get(name=NOC))
        own_jails = Jail.objects.filter(host__customer=customer).count()
        print(
            f"seeded {Customer.objects.count()} customers, {Host.objects.count()} hosts, "
            f"{Cluster.objects.count()} clusters, {Jail.objects.count()} jails, "
            f"{JailRequest.objects.count()} requests in {time.perf_counter() - started:.1f} s "
            f"on {connection.vendor}; the customer has "
            f"{Host.objects.filter(customer=customer).count()} hosts, {own_jails} jails"
        )
        print(
            f"{'route':40} {'status':>6} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}"
            f" {'p50 cpu':>8} {'p95 cpu':>8}"
        )
        client = Client()
        client.force_login(user)
        report(client, "portal page", reverse("customers:portal"), {}, args.runs)
        for name in WIDGETS:
            url = reverse(f"customers:widget-{name}")
            report(client, f"partial {name}", url, HTMX, args.runs)
            version = client.get(url, **HTMX)[VERSION_HEADER]
            extra = {**HTMX, "HTTP_X_NYIOPS_VERSION": version}
            report(client, f"partial {name} (unchanged: 204)", url, extra, args.runs)
        req = JailRequest.objects.filter(customer=customer).first()
        url = reverse("customers:request-status", args=[req.pk])
        report(client, "partial request-status", url, HTMX, args.runs)
        report(client, "request form", reverse("customers:request-new"), {}, args.runs)
        staff = Client()
        staff.force_login(noc)
        pending = JailRequest.objects.filter(status="pending").count()
        report(staff, f"NOC queue ({pending} pending)", reverse("jailqueue:list"), {}, 10)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def provision(args) -> None:
    from django.core.management import call_command
    from django.test.utils import override_settings

    from fleetsim.testing import running_fleet
    from hosts.polling.run import CONNECTIONS, poll_host
    from operations import engine
    from operations.models import Operation
    from portal import jail_requests

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    spec = REPO / "demo" / "fleet.yaml"
    state = tempfile.mkdtemp(prefix="bench-portal-")
    try:
        with (
            running_fleet(spec, Path(state) / "fleet") as fleet,
            override_settings(NYIOPS_OPERATION_VERIFY_INTERVAL_SECONDS=0.5),
        ):
            call_command("import_inventory", str(fleet.inventory_path), verbosity=0)
            for host in Host.objects.select_related("credential").filter(name="app1"):
                poll_host(host)
            ensure_role_groups()
            ivy = UserFactory(username="bench-initech")
            ivy.groups.add(Group.objects.get(name=CUSTOMER))
            initech = Customer.objects.get(slug="initech")
            Membership.objects.create(user=ivy, customer=initech)
            noc = UserFactory(username="bench-noc", is_staff=True)
            noc.groups.add(Group.objects.get(name=NOC))
            source = Jail.objects.present().get(host__name="app1", name="shop-production")
            samples = []
            for i in range(args.runs):
                data = {"purpose": "twin", "twin_of": source, "name": f"bench{i}",
                        "hostname": f"bench{i}.shop.initech.example", "size_gb": 1,
                        "template": "", "ip": "", "affinity": "any"}  # fmt: skip
                req = jail_requests.create(initech, ivy, data)
                start = time.perf_counter()
                req = jail_requests.approve(req.pk, noc)
                engine.run(req.operation_id)
                elapsed = time.perf_counter() - start
                op = Operation.objects.get(pk=req.operation_id)
                assert op.state == "succeeded", (op.state, op.result)
                samples.append(elapsed)
                print(f"run {i + 1}: approval -> verified running in {elapsed:.2f} s")
            print(
                f"approval -> running over {len(samples)} runs: p50 {pct(samples, 50):.2f} s, "
                f"p95 {pct(samples, 95):.2f} s, max {max(samples):.2f} s"
            )
        CONNECTIONS.close_all()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("pages")
    p.add_argument("--hosts", type=int, default=4000)
    p.add_argument("--jails-per-host", type=int, default=4)
    p.add_argument("--runs", type=int, default=40)
    v = sub.add_parser("provision")
    v.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    pages(args) if args.part == "pages" else provision(args)


if __name__ == "__main__":
    main()
