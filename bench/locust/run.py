"""F1: the dashboard under htmx polling, Locust headless against gunicorn (RELIABILITY F1).

    .venv/bin/python bench/locust/run.py [--hosts 120] [--noc 50] [--customers 20]
        [--operators 5] [--minutes 3] [--web-workers 5] [--poll-workers 1]
        [--out var/bench/locust.json]

One command for the whole run, all on 127.0.0.1 under var/bench/locust/ (its own
NYIOPS_VAR_DIR):
1. a fresh PostgreSQL database (DATABASE_URL, default .../locust_f1), Redis db 12 as the
   broker and db 13 as the cache (REDIS_URL, CACHE_URL), both flushed;
2. fleetsim serving the demo fleet plus generated hosts up to --hosts, imported;
3. the users, seeded as `manage.py seed_demo` does (known passwords; staff with a known
   TOTP secret): --noc wallboard users and --operators (NOC role, 2FA), --customers portal
   users spread over the generated customers; each operator owns one generated
   load-balancer pair, so their operations never contend for a lock;
4. the poller as deployed: --poll-workers Celery workers on `poll` (16 threads), one on
   `operations,notify`, celery beat; and gunicorn with the Dockerfile's command (sync
   workers, --timeout 30), DEBUG off;
5. once every host has been polled, Locust headless (bench/locust/locustfile.py) for
   --minutes: wallboards refresh the overview's 4 live partials every 5 s as htmx does
   (HX-Request, the version they hold: unchanged widgets answer 204), customers browse,
   operators drain and ready a pool member through plan → approve → the operations queue;
6. everything stopped (nyiops.processes.stop, also on Ctrl-C or SIGTERM), the report
   written to --out.

Thresholds (exit status 1 when one is missed): partials p95 <= 300 ms; 0 errors (failed
requests, 5xx, logins, operations that did not succeed). Also reported, not failing the
run: partials p99 (RELIABILITY: <= 1 s), full pages p95 (<= 800 ms), the load average.
Response times are measured for --minutes from when every user has logged in (the logins,
two at a time, are the warm-up: a password check costs ~0.5 s of CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "var" / "bench" / "locust"
sys.path.insert(0, str(REPO))
# Importing nyiops reads the settings, which write the development secrets into var/ when
# missing: empty this bench's var/ and choose it first, so this process and its children
# share one set of keys (emptied later, the children could not decrypt what this one wrote).
# The same goes for the database, broker and cache: the settings read them at that import.
if __name__ == "__main__":
    shutil.rmtree(BENCH, ignore_errors=True)
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/locust_f1")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/13")
    os.environ["DEBUG"] = "False"  # as served: no query log, no debug pages
os.environ["NYIOPS_VAR_DIR"] = str(BENCH / "var")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

from nyiops.processes import spawn, start_fleetsim, stop, wait_until, worker_argv  # noqa: E402

# The wallboard's four most frequently refreshed widgets (their htmx `every` is 10-15 s;
# F1 asks for every 5 s).
WALL_PARTIALS = ("findings", "hosts", "firewalls", "loadbalancers")
# Locust's run time: the logins first (measuring starts once all are in), then --minutes;
# the locustfile stops the run itself when those minutes are over.
LOGIN_ALLOWANCE = 600
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# gunicorn's access log, with the time the server spent on each request (%(M)s, ms): what
# Locust measures minus the client's own waiting, which matters on a loaded machine.
ACCESS_FORMAT = '%(t)s "%(r)s" %(s)s %(b)s %(M)s'
ACCESS_LINE = re.compile(r'"(\w+) (\S+) HTTP/[0-9.]+" (\d{3}) \S+ (\d+)$')
PASSWORD = "f1-load-test-password"  # a throw-away bench database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_database(db_url: str) -> None:
    import psycopg

    base, name = db_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed_users(args, path: Path) -> dict:
    """Staff and customers as seed_demo makes them; the accounts Locust logs in with."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from customers.management.commands.seed_demo import demo_totp_key
    from customers.models import Customer, Membership
    from hosts.models import Cluster
    from nyiops.roles import CUSTOMER, NOC, ensure_role_groups

    ensure_role_groups()
    User = get_user_model()
    hashed = make_password(PASSWORD)  # one hash for all: PBKDF2 per user would take minutes
    noc, customer_group = Group.objects.get(name=NOC), Group.objects.get(name=CUSTOMER)

    def staff(username: str) -> dict:
        user = User.objects.create(username=username, is_staff=True, password=hashed)
        user.groups.add(noc)
        key = demo_totp_key(username)
        TOTPDevice.objects.create(user=user, name="load test", key=key, confirmed=True)
        return {"username": username, "password": PASSWORD, "totp_key": key}

    lb_pairs = list(
        Cluster.objects.filter(kind="loadbalancer", name__startswith="s").order_by("name")
    )
    if len(lb_pairs) < args.operators:
        raise SystemExit(
            f"{args.operators} operators need as many generated LB pairs: use more --hosts"
        )
    operators = []
    for i in range(args.operators):
        account = staff(f"ops{i:02d}")
        account["target"] = {"server": "web/web1", "cluster": lb_pairs[i].name}
        operators.append(account)
    customers = list(Customer.objects.filter(slug__startswith="scale").order_by("slug"))
    portal = []
    for i in range(args.customers):
        user = User.objects.create(username=f"cust{i:02d}", password=hashed)
        user.groups.add(customer_group)
        Membership.objects.create(user=user, customer=customers[i % len(customers)])
        portal.append({"username": user.username, "password": PASSWORD})
    users = {
        "noc": [staff(f"noc{i:02d}") for i in range(args.noc)],
        "operator": operators,
        "customer": portal,
        "wall_partials": list(WALL_PARTIALS),
        "refresh_every": args.refresh_every,
        "operation_timeout": 240,
        "minutes": args.minutes,
    }
    path.write_text(json.dumps(users, indent=2))
    return users


def wait_polled(timeout: float) -> None:
    from hosts.models import Host

    deadline = time.monotonic() + timeout
    while Host.objects.filter(last_poll_at__isnull=True, enabled=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"not every host was polled within {timeout:.0f} s")
        time.sleep(1)


def operations_summary() -> dict:
    from django.db.models import Count

    from operations.models import Operation

    rows = Operation.objects.values("kind", "state").annotate(n=Count("pk")).order_by("kind")
    return {f"{r['kind']} {r['state']}": r["n"] for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=120)
    parser.add_argument("--noc", type=int, default=50)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--operators", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--refresh-every", type=float, default=5.0)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--web-workers", type=int, default=5, help="gunicorn --workers")
    parser.add_argument("--poll-workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench" / "locust.json")
    args = parser.parse_args()

    (BENCH / "var").mkdir(parents=True, exist_ok=True)
    db_url = os.environ["DATABASE_URL"]
    env = dict(os.environ)
    reset_database(db_url)
    import redis

    for url in (env["REDIS_URL"], env["CACHE_URL"]):
        redis.Redis.from_url(url).flushdb()  # this bench's own db numbers only
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    procs: list[subprocess.Popen] = []
    # SIGTERM (a timeout, a CI cancel) unwinds through `finally` like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    locust_report = BENCH / "locust_summary.json"
    try:
        state = BENCH / "fleet"
        procs.append(
            start_fleetsim(
                REPO / "demo" / "fleet.yaml",
                state,
                log=BENCH / "fleet.log",
                env=env,
                scale=max(0, args.hosts - 20),
                timeout=300,
            )
        )
        call_command("migrate", verbosity=0)
        call_command("import_inventory", str(state / "inventory.yaml"), verbosity=0)
        users_file = BENCH / "users.json"
        seed_users(args, users_file)
        connection.close()  # the children write; this process only reads from here on
        for i in range(args.poll_workers):
            procs.append(
                spawn(
                    worker_argv("poll", 16, "--hostname", f"f1poll{i}@%h", "--without-gossip",
                                "--without-mingle", loglevel="WARNING"),
                    env=env,
                    log=BENCH / f"worker-poll{i}.log",
                )
            )  # fmt: skip
        procs.append(
            spawn(
                worker_argv("operations,notify", 4, "--hostname", "f1ops@%h", "--without-gossip",
                            "--without-mingle", loglevel="INFO"),
                env=env,
                log=BENCH / "worker-ops.log",
            )
        )  # fmt: skip
        procs.append(
            spawn(
                [sys.executable, "-m", "celery", "-A", "nyiops", "beat", "--loglevel",
                 "WARNING", "--schedule", str(BENCH / "beat-schedule")],
                env=env,
                log=BENCH / "beat.log",
            )
        )  # fmt: skip
        port = free_port()
        # The Dockerfile's command, on loopback.
        web = spawn(
            [str(Path(sys.executable).parent / "gunicorn"), "nyiops.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(args.web_workers),
             "--timeout", "30", "--access-logfile", str(BENCH / "access.log"),
             "--access-logformat", ACCESS_FORMAT],
            env=env,
            log=BENCH / "gunicorn.log",
        )  # fmt: skip
        procs.append(web)

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(healthy, proc=web, timeout=60, what="gunicorn")
        wait_polled(timeout=180)
        report["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
        total = args.noc + args.customers + args.operators
        locust = spawn(
            [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE),
             "--headless", "--host", f"http://127.0.0.1:{port}", "-u", str(total),
             "-r", str(args.spawn_rate), "--stop-timeout", "10",
             "-t", f"{int(args.minutes * 60 + LOGIN_ALLOWANCE)}s",
             "--only-summary", "--csv", str(BENCH / "locust")],
            env=dict(
                env,
                NYIOPS_LOCUST_USERS=str(users_file),
                NYIOPS_LOCUST_REPORT=str(locust_report),
                NYIOPS_LOCUST_NOC=str(args.noc),
                NYIOPS_LOCUST_CUSTOMERS=str(args.customers),
                NYIOPS_LOCUST_OPERATORS=str(args.operators),
            ),
            log=BENCH / "locust.log",
        )  # fmt: skip
        procs.append(locust)
        loads = []
        while locust.poll() is None:
            loads.append(os.getloadavg()[0])
            time.sleep(5)
        report["loadavg_during"] = {
            "min": round(min(loads), 2) if loads else None,
            "max": round(max(loads), 2) if loads else None,
        }
        report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        report["locust_exit"] = locust.returncode
        report["operations_in_db"] = operations_summary()
    finally:
        stop(procs, timeout=20)

    summary = json.loads(locust_report.read_text()) if locust_report.exists() else {}
    cats = summary.get("by_category", {})
    partial = cats.get("partial", {})
    page = cats.get("page", {})
    server = server_side()
    server_errors = server.pop("http_5xx")
    report.update(
        partials=partial,
        pages=page,
        logins=cats.get("login", {}),
        posts=cats.get("post", {}),
        operations=cats.get("operations", {}),
        operation_outcomes=summary.get("operations", {}),
        measured_seconds=summary.get("measured_seconds"),
        logged_in=summary.get("logged_in"),
        requests=summary.get("requests"),
        failures=summary.get("failures"),
        errors=summary.get("errors", []),
        http_5xx=server_errors,
        server_side_ms=server,
        by_name=summary.get("by_name", {}),
    )
    errors = (summary.get("error_count") or 0) + server_errors
    checks = {
        "partials p95 <= 300 ms": partial.get("p95_ms") is not None and partial["p95_ms"] <= 300,
        "0 errors": bool(summary) and errors == 0,
    }
    report["checks"] = checks
    report["info"] = {
        "partials p99 <= 1 s": partial.get("p99_ms") is not None and partial["p99_ms"] <= 1000,
        "pages p95 <= 800 ms": page.get("p95_ms") is not None and page["p95_ms"] <= 800,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({k: v for k, v in report.items() if k != "by_name"}, indent=2, default=str))
    return 0 if all(checks.values()) else 1


def server_side() -> dict:
    """gunicorn's own time per request (ms) for the partials and the pages (the whole run,
    the logins' page loads included), and the count of 5xx answers."""
    path = BENCH / "access.log"
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        match = ACCESS_LINE.search(line)
        if match:
            method, url, status, ms = match.groups()
            rows.append((method, url, int(status), int(ms)))
    partials = [ms for _m, url, _s, ms in rows if "/live/" in url]
    pages = [ms for m, url, _s, ms in rows if m == "GET" and "/live/" not in url]

    def pct(values: list[int], p: float) -> int | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "http_5xx": sum(1 for *_, status, _ms in rows if status >= 500),
        "partials": {"n": len(partials), "p50": pct(partials, 50), "p95": pct(partials, 95)},
        "pages": {"n": len(pages), "p50": pct(pages, 50), "p95": pct(pages, 95)},
    }


if __name__ == "__main__":
    sys.exit(main())
