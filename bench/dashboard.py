"""Dashboard server time at fleet scale: the overview and each live partial.

    .venv/bin/python bench/dashboard.py [--hosts 1000] [--jails 5000] [--runs 40]
        [--sweeping [--counters-per-second 10] [--changes-per-second 1]] [--cold]

Seeds a throw-away test database (SQLite file or the DATABASE_URL server's test_ database)
with 1,000 hosts in 500 clusters (firewall, load-balancer and jail-service pairs), 5,000+
jails, pools, mirrors, backups and a problem in every 20th cluster; then times each route
in-process through the full middleware stack (Django test client, logged in as NOC) and
prints p50/p95 in milliseconds and the query count. Partials are timed twice: a full render,
and the "nothing changed" answer (the client sends the version it holds, the server says
204). Targets: overview p95 < 150 ms, partial p95 < 30 ms.

Widgets come from the dashboard cache (hosts/dashboard/cache.py): computed once per
generation and epoch, shared by every viewer. `--cold` adds a row per route with a
generation bump before every request: the cost of the first request after a change, which
computes the widgets (what every request cost before the cache). `--sweeping` (PostgreSQL
only) runs bench/dashboard_writer.py beside the timing: the poller's writes at 1,000 hosts
(counter samples, and state changes that bump the generation, through the judge's real
store); then the "unchanged" client behaves as htmx does, taking the new version from every
200, and the share of 204 answers is printed.

`--poller N` (PostgreSQL only) times the routes while the real poller runs instead: fleetsim
serves the demo fleet plus generated hosts up to N, imported into the same database beside
the seeded fleet, polled over SSH by a Celery worker (`--poller-workers`, 16 threads each)
dispatched by `celery beat` at each role's interval, as deployed. `--poller-nice N` runs
the worker at a lower CPU priority than this process (the web before the polls when both
want the cores), `--fleet-nice N` fleetsim (it stands for the remote hosts, whose CPU a
deployment does not share). Timing starts once every fleetsim host has been polled, judged
and polled again, and no host is left stale from the connect round (on a slow machine the
first round of 1,000 new connections outlasts three poll intervals; the stale findings it
leaves are cleared one by one, each a generation bump, and would be timed as the steady
state's). The seeded hosts have no SSH server: they are disabled (not polled, not
judged stale), so the hosts widget lists the polled fleet, and every other widget shows the
seeded fleet plus the polled one, more than either alone.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from hosts.dashboard import generation  # noqa: E402
from hosts.models import Cluster, Finding, Host, Jail, StatusEvent  # noqa: E402
from hosts.views import WIDGETS  # noqa: E402
from nyiops.htmx import VERSION_HEADER  # noqa: E402
from nyiops.processes import PYTHON, spawn, stop  # noqa: E402
from nyiops.roles import NOC, ensure_role_groups  # noqa: E402
from tests.dashboard.factories import seed_fleet  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.otp import verify_session  # noqa: E402

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}


def timed(client: Client, url: str, runs: int, extra: dict, *, cold=False, follow=False):
    """`cold`: a generation bump (a change) before each request. `follow`: the client sends
    back the version of the last 200 it got, as the page's htmx does."""
    response = client.get(url, **extra)  # warm-up (template loading, role look-ups)
    status = response.status_code
    queries = []
    # Counted with a wrapper: the request_started signal resets connection.queries.
    with connection.execute_wrapper(
        lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)
    ):
        client.get(url, **extra)
    samples, cpu, statuses = [], [], []
    for _ in range(runs):
        if cold:
            generation.bump()  # a change: the next request computes (not cache.clear(): sessions)
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, **extra)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        statuses.append(response.status_code)
        if follow and response.status_code == 200:
            extra = {**extra, "HTTP_X_NYIOPS_VERSION": response[VERSION_HEADER]}
        elif not follow:
            assert response.status_code == status, (url, response.status_code)
    return samples, cpu, len(queries), statuses


def table_writes(before: dict | None = None):
    """PostgreSQL's rows inserted, updated and deleted per table (its statistics, which lag
    by up to a second); with `before`, the difference as text, busiest tables first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
        now = {name: counts for name, *counts in cursor.fetchall()}
    if before is None:
        return now
    moved = {
        name: [a - b for a, b in zip(counts, before.get(name, (0, 0, 0)), strict=True)]
        for name, counts in now.items()
    }
    busiest = sorted(moved.items(), key=lambda item: -sum(item[1]))[:8]
    return ", ".join(f"{name} +{i}/~{u}/-{d}" for name, (i, u, d) in busiest if i + u + d)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--jails", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--cold", action="store_true", help="also time every route uncached")
    parser.add_argument("--sweeping", action="store_true", help="poller writes meanwhile")
    parser.add_argument("--poller", type=int, default=0, help="fleetsim hosts polled meanwhile")
    parser.add_argument("--poller-workers", type=int, default=1)
    parser.add_argument(
        "--poller-nice", type=int, default=0, help="run the poll worker at this nice value"
    )
    parser.add_argument(
        "--fleet-nice", type=int, default=0, help="run fleetsim (the remote hosts) at this nice"
    )
    parser.add_argument("--counters-per-second", type=float, default=10)
    parser.add_argument("--changes-per-second", type=float, default=1)
    args = parser.parse_args()
    if (args.sweeping or args.poller) and connection.vendor != "postgresql":
        parser.error("--sweeping and --poller need a DATABASE_URL to PostgreSQL (processes)")

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    writer, poller = None, []
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
        verify_session(client, user)  # staff verify a second factor before any page (D7)
        print(
            f"seeded {Host.objects.count()} hosts, {Cluster.objects.count()} clusters, "
            f"{Jail.objects.count()} jails in {seeded:.1f} s on {connection.vendor}"
        )
        if args.poller:
            poller = start_poller(args)
        # Wall time is what a user waits; CPU time (this process) is the same minus waiting
        # for a busy machine, so the two together show when other load skews a run. With
        # SQLite in-process, CPU time includes the database's own work.
        print(
            f"{'route':46} {'status':>6} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}"
            f" {'p50 cpu':>8} {'p95 cpu':>8}"
        )
        routes = [("overview", reverse("hosts:overview"), {})]
        for name in WIDGETS:
            routes.append((f"partial {name}", reverse(f"hosts:widget-{name}"), HTMX))
        # With --poller, a polled pair (imported after the seeded ones).
        cluster = Cluster.objects.filter(kind="firewall").order_by("pk").first()
        if args.poller:
            cluster = Cluster.objects.filter(kind="firewall").order_by("-pk").first()
        routes += [
            ("cluster page", reverse("hosts:cluster", args=[cluster.pk]), {}),
            ("partial cluster-health", reverse("hosts:cluster-health", args=[cluster.pk]), HTMX),
            ("search 'j1'", reverse("hosts:search") + "?q=j1", {}),
        ]
        if args.sweeping:
            writer, log = start_writer(args)
        writes_before = table_writes() if connection.vendor == "postgresql" else None
        first_generations, started = generation.by_topic(), time.perf_counter()
        first_polls = dict(Host.objects.values_list("pk", "last_poll_at"))
        for label, url, extra in routes:
            report(client, label, url, extra, args.runs)
            if args.cold:
                report(client, f"{label} (computed)", url, extra, args.runs, cold=True)
            if extra:
                version = client.get(url, **extra)[VERSION_HEADER]
                report(
                    client,
                    f"{label} (unchanged: 204)",
                    url,
                    {**extra, "HTTP_X_NYIOPS_VERSION": version},
                    args.runs,
                    follow=bool(args.sweeping or args.poller),
                )
        elapsed = time.perf_counter() - started
        rates = {
            topic: (value - first_generations[topic]) / elapsed
            for topic, value in generation.by_topic().items()
        }
        print(
            "generation bumps per second during the timing, by topic: "
            + ", ".join(f"{topic} {rate:.2f}" for topic, rate in rates.items())
        )
        # What the polls stored as changes meanwhile: the reason for the bumps above.
        since = timezone.now() - timedelta(seconds=elapsed)
        changes = (
            StatusEvent.objects.filter(at__gte=since)
            .values_list("subject_type", "field")
            .annotate(n=Count("pk"))
            .order_by("-n")
        )
        print(
            "state changes stored during the timing: "
            + (", ".join(f"{kind}.{field} {n}" for kind, field, n in changes[:8]) or "none")
        )
        opened = (
            Finding.objects.filter(first_seen_at__gte=since)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by("-n")
        )
        print(
            "findings opened during the timing (and open at its end): "
            + (", ".join(f"{kind} {n}" for kind, n in opened[:8]) or "none")
        )
        if connection.vendor == "postgresql":
            print("rows written during the timing: " + table_writes(writes_before))
        if poller:
            polled = sum(
                1
                for pk, last in Host.objects.values_list("pk", "last_poll_at")
                if last is not None and last != first_polls.get(pk)
            )
            print(f"hosts polled during the timing: {polled} in {elapsed:.0f} s")
    finally:
        stop(poller)
        if writer is not None:
            stop([writer])
            print(log.read_text().strip())
        connection.creation.destroy_test_db(old_name, verbosity=0)


def start_writer(args):
    """The poller's writes (bench/dashboard_writer.py) against this run's test database."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    log = Path(os.environ.get("NYIOPS_VAR_DIR", REPO / "var")) / "bench" / "dashboard_writer.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        PYTHON, str(REPO / "bench" / "dashboard_writer.py"),
        "--counters-per-second", str(args.counters_per_second),
        "--changes-per-second", str(args.changes_per_second),
    ]  # fmt: skip
    writer = spawn(argv, log=log, env={**os.environ, "DATABASE_URL": url})
    deadline = time.monotonic() + 300  # the writer judges its pool first
    while "writer:" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # the first changes land before the first sample
    return writer, log


def start_poller(args) -> list:
    """fleetsim with `args.poller` hosts, imported into this run's test database, and the
    poll worker(s) and beat polling it; returns once every fleetsim host was polled twice."""
    from django.core.management import call_command
    from django.utils import timezone

    from nyiops.celery import app
    from nyiops.processes import celery_argv, start_fleetsim, worker_argv

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    work = Path(os.environ.get("NYIOPS_VAR_DIR", REPO / "var")) / "bench" / "dashboard_poller"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "DATABASE_URL": url}
    procs = []
    try:
        procs.append(
            start_fleetsim(
                REPO / "demo" / "fleet.yaml",
                work / "fleet",
                log=work / "fleet.log",
                env=env,
                scale=max(0, args.poller - 20),  # the demo fleet has 20 hosts
                timeout=300,
            )
        )
        if args.fleet_nice:  # fleetsim is one event loop: its process's priority is its own
            os.setpriority(os.PRIO_PROCESS, procs[-1].pid, args.fleet_nice)
        seeded = set(Host.objects.values_list("pk", flat=True))
        call_command("import_inventory", str(work / "fleet" / "inventory.yaml"), verbosity=0)
        polled = Host.objects.exclude(pk__in=seeded)
        polled.update(next_poll_at=timezone.now())
        # The seeded hosts have no SSH server: they are shown, not polled.
        Host.objects.filter(pk__in=seeded).update(enabled=False)
        app.control.purge()
        for i in range(args.poller_workers):
            argv = worker_argv("poll", 16, "--hostname", f"dash{i}@%h", loglevel="WARNING")
            if args.poller_nice:  # the web before the polls, when both want the cores
                argv = ["nice", "-n", str(args.poller_nice), *argv]
            procs.append(spawn(argv, env=env, log=work / f"worker{i}.log"))
        beat = celery_argv("beat", "--schedule", str(work / "beat-schedule"), "-l", "WARNING")
        procs.append(spawn(beat, env=env, log=work / "beat.log"))
        start, began = timezone.now(), time.monotonic()
        total = polled.count()
        for what in ("polled once", "polled again"):
            while polled.filter(last_poll_at__gt=start).count() < total:
                if time.monotonic() - began > 600:
                    raise SystemExit(f"the poller did not poll all {total} hosts ({work})")
                time.sleep(1)
            print(f"poller: {total} fleetsim hosts {what} ({time.monotonic() - began:.0f} s)")
            start = timezone.now()
        stale = Finding.objects.filter(kind="poll_stale")
        while stale.exists():
            if time.monotonic() - began > 600:
                raise SystemExit(f"{stale.count()} hosts still stale after 600 s ({work})")
            time.sleep(1)
        print(f"poller: no host stale ({time.monotonic() - began:.0f} s)")
    except BaseException:
        stop(procs)
        raise
    return procs


def report(client, label, url, extra, runs, **how) -> None:
    samples, cpu, queries, statuses = timed(client, url, runs, extra, **how)
    shown = statuses[0] if len(set(statuses)) == 1 else f"{statuses.count(204)}x204"
    print(
        f"{label:46} {shown:>6} {queries:>7} {pct(samples, 50):>8.1f} {pct(samples, 95):>8.1f}"
        f" {pct(cpu, 50):>8.1f} {pct(cpu, 95):>8.1f}"
    )


if __name__ == "__main__":
    main()
