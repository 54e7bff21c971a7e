"""Failover to page: how long from a failover in the fleet to the on-call engineer's page.

    .venv/bin/python bench/failover_to_page.py [--runs 20] [--poll-interval 2]
        [--fleet 1000 [--workers 2] [--seed 1]] [--out var/bench/failover_to_page.json] [--keep]

Starts, all on 127.0.0.1 and under var/bench/failover/ (a fresh NYIOPS_VAR_DIR): a private
redis-server, `fleetsim serve` with demo/fleet.yaml, migrate + import_inventory + seed_demo +
seed_oncall_demo, a real Celery worker (thread pool, queues poll,operations,notify) and
`celery beat`. The database is the demo's SQLite unless DATABASE_URL is set. Then, per run:
`fleetsim ctl fault fw1a down`, and the time until (a) the first alert of fw-pair-1 or fw1a
exists and (b) the first notification for it (or for its root-cause alert) is sent; then
heal and wait until those alerts resolved automatically. Reported: p50/p95 from injection
(which includes the poller noticing: the pair is polled every --poll-interval seconds) and
from the finding's first_seen_at (the alerts pipeline alone). At the end the first page's
one-click link (from the worker's console mail) is followed to acknowledge an alert.
Bench-only tuning: the pair's poll interval is set to --poll-interval and the default
policy's rate cap is raised, so 20 pages in a few minutes are not rate-capped.

With --fleet N the fleet is the demo fleet plus N-20 generated hosts, every host polled at
its own interval (10 s in the spec; --poll-interval 0 leaves the pair members at theirs
too), --workers Celery workers, and each run downs a random member of a random firewall or
load-balancer pair (--seed). A PostgreSQL DATABASE_URL is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile

# Importing nyiops reads the settings (its Celery app): choose this bench's own var/ first,
# so this process and the processes it starts share one database.
os.environ["NYIOPS_VAR_DIR"] = str(
    Path(__file__).resolve().parents[1] / "var" / "bench" / "failover"
)
from nyiops.processes import spawn

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
BENCH = REPO / "var" / "bench" / "failover"
sys.path.insert(0, str(REPO))  # run as a script from bench/: make the project importable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def ctl(state: Path, action: str, host: str, *args: str) -> None:
    """`fleetsim ctl fault|heal HOST ...`, through the function that command runs, in this
    process: the run's clock starts at the injection, not at a Python interpreter's start
    (~0.4 s of the 1 s a subprocess took)."""
    from fleetsim import ctl as fleetsim_ctl

    if action == "fault":
        fleetsim_ctl.inject_fault(state, host, *args)
    else:
        fleetsim_ctl.heal(state, host, *args)


class TimedOut(Exception):
    pass


def wait_for(what: str, predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise TimedOut(f"timed out after {timeout:.0f}s waiting for {what}")


def reset_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def start_stack(env: dict, procs: list, fleet: int = 0, workers: int = 1) -> Path:
    redis_port = free_port()
    env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    procs.append(
        spawn(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            env=env,
            log=BENCH / "redis.log",
        )
    )
    state = BENCH / "fleet"
    procs.append(
        spawn(
            [
                sys.executable,
                "-m",
                "fleetsim",
                "serve",
                "--spec",
                str(REPO / "demo" / "fleet.yaml"),
                "--state",
                str(state),
                "--base-port",
                str(free_port()) if fleet <= 20 else "0",
                *(["--scale", str(fleet - 20)] if fleet > 20 else []),
            ],
            env=env,
            log=BENCH / "fleet.log",
        )
    )
    wait_for("fleetsim", lambda: (state / "ready").exists(), 300, 0.2)
    if env.get("DATABASE_URL", "").startswith("postgres"):
        reset_postgres(env["DATABASE_URL"])
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "import_inventory", str(state / "inventory.yaml"))
    manage(env, "seed_demo")
    manage(env, "seed_oncall_demo")
    celery = [sys.executable, "-m", "celery", "-A", "nyiops"]
    # With a fleet, poll workers and one for alerts and operations, as deployed at scale
    # (queues per role): a worker busy with poll batches would hold pages back.
    roles = [("poll,operations,notify", 16)]
    if fleet:
        roles = [("poll", 16)] * workers + [("operations,notify", 4)]
    for i, (queues, threads) in enumerate(roles):
        procs.append(
            spawn(
                [
                    *celery,
                    "worker",
                    "--hostname",
                    f"bench{i}@%h",
                    "--pool",
                    "threads",
                    "--concurrency",
                    str(threads),
                    "-Q",
                    queues,
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "INFO",
                ],
                env=env,
                log=BENCH / ("worker.log" if i == 0 else f"worker{i}.log"),
            )
        )
    procs.append(
        spawn(
            [
                *celery,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(BENCH / "celerybeat-schedule"),
            ],
            env=env,
            log=BENCH / "beat.log",
        )
    )
    return state


def pair_alerts(since, cluster: str = "fw-pair-1", host: str = "fw1a"):
    from django.db.models import Q

    from alerts.models import Alert

    return Alert.objects.filter(Q(cluster__name=cluster) | Q(host__name=host), opened_at__gte=since)


def first_page_at(alerts, since):
    from alerts.models import Notification

    ids = {a.pk for a in alerts} | {a.parent_id for a in alerts if a.parent_id}
    # A root-cause parent may have been paged long before (a large fleet always has
    # something open): only a page sent after the fault counts.
    sent = Notification.objects.filter(alert_id__in=ids, sent_at__gte=since).order_by("sent_at")
    return sent.values_list("sent_at", flat=True).first()


def settled(cluster: str = "fw-pair-1", host: str = "fw1a") -> bool:
    from alerts.models import Alert
    from hosts.models import Finding, Host

    member = Host.objects.get(name=host)
    return (
        member.reachability == "ok"
        and not Finding.objects.filter(
            cluster__name=cluster, kind="preferred_master_is_backup"
        ).exists()
        and not pair_alerts(datetime(2000, 1, 1, tzinfo=UTC), cluster, host)
        .filter(
            resolved_at__isnull=True, kind__in=["preferred_master_is_backup", "host_unreachable"]
        )
        .exists()
        and not Alert.objects.filter(host__name=host, resolved_at__isnull=True).exists()
    )


def acknowledge_standing_alerts(limit_s: float = 180) -> dict:
    """What an on-call team does with a fleet's known problems: acknowledge them.

    A generated 1,000-host fleet opens hundreds of alerts on its first sweep (backups never
    run, pools never scrubbed), and their escalation pages every few minutes through the one
    notify worker; a fault's page measured behind that flood measures the flood. Steady
    polling means the standing alerts are acknowledged: acknowledge every firing alert until
    none is firing and no notification is pending (bulk_acknowledge cancels unsent ones)."""
    from django.contrib.auth import get_user_model

    from alerts import services
    from alerts.choices import AlertState, NotificationStatus
    from alerts.models import Alert, Notification

    by = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    acked, deadline = 0, time.monotonic() + limit_s
    while time.monotonic() < deadline:
        firing = list(Alert.objects.filter(state=AlertState.FIRING).values_list("pk", flat=True))
        acked += len(services.bulk_acknowledge(firing, by=by, note="bench: standing alert"))
        pending = Notification.objects.filter(status=NotificationStatus.PENDING).exists()
        if not firing and not pending:
            break
        time.sleep(1.0)
    return {"acknowledged": acked, "seconds": round(limit_s - (deadline - time.monotonic()), 1)}


def host_clear(host: str) -> bool:
    from alerts.models import Alert

    return not Alert.objects.filter(host__name=host, resolved_at__isnull=True).exists()


def one_run(env: dict, state: Path, cluster: str = "fw-pair-1", host: str = "fw1a") -> dict:
    from hosts.models import Finding

    wait_for("the pair to settle", lambda: settled(cluster, host), 180, 0.5)
    injected = datetime.now(UTC)
    t0 = time.monotonic()
    ctl(state, "fault", host, "down")
    # ctl returns once the simulator applied the fault (it polls for that every 50 ms).
    applied = datetime.now(UTC)
    alerts = wait_for("an alert", lambda: list(pair_alerts(injected, cluster, host)), 60)
    t_alert = time.monotonic() - t0
    paged = wait_for(
        "a page", lambda: first_page_at(list(pair_alerts(injected, cluster, host)), injected), 60
    )
    first = min(alerts, key=lambda a: a.opened_at)
    finding = Finding.objects.filter(dedup_key=first.dedup_key).first()
    seen = finding.first_seen_at if finding else first.opened_at
    run = {
        "alert_s": round(t_alert, 3),
        "page_s": round((paged - injected).total_seconds(), 3),
        "applied_to_page_s": round((paged - applied).total_seconds(), 3),
        "finding_to_alert_s": round((first.opened_at - seen).total_seconds(), 3),
        "finding_to_page_s": round((paged - seen).total_seconds(), 3),
        "first_alert": f"{first.kind} {first.subject}",
        "target": host,
    }
    ctl(state, "heal", host)
    # Until its alerts resolved, a healed host's host_unreachable is the open root of its
    # site: the next run's fault would be grouped under it and page only when it resolves.
    wait_for("the healed host's alerts to resolve", lambda: host_clear(host), 180, 0.5)
    return run


def follow_ack_link(worker_log: Path) -> str:
    from django.test import Client

    from alerts.models import Alert

    text = "".join(
        log.read_text(errors="replace") for log in sorted(worker_log.parent.glob("worker*.log"))
    )
    links = re.findall(r"Acknowledge \(one click, valid 24 h(?:, once)?\): (\S+)", text)
    if not links:
        return "no page with an ack link in the worker log"
    # The link's secret is in its fragment, which a browser keeps to itself: the page's
    # script puts it in the form (alerts.links), as this does.
    path, _, secret = ("/" + links[-1].split("/", 3)[3]).partition("#")
    client = Client()
    client.get(path)
    response = client.post(
        path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, "secret": secret}
    )
    acked = Alert.objects.filter(events__text__contains="via link").first()
    return f"POST {path[:40]}... -> {response.status_code}; acknowledged: {acked}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll-interval", type=int, default=2)
    parser.add_argument("--fleet", type=int, default=0, help="hosts (default: the demo fleet)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "var" / "bench" / "failover_to_page.json"))
    parser.add_argument("--keep", action="store_true", help="keep var/bench/failover/")
    parser.add_argument(
        "--page-standing",
        action="store_true",
        help="with --fleet: leave the first sweep's standing alerts firing (their pages "
        "flood the notify worker) instead of acknowledging them first",
    )
    args = parser.parse_args()
    shutil.rmtree(BENCH, ignore_errors=True)
    BENCH.mkdir(parents=True)
    env = dict(
        os.environ,
        NYIOPS_VAR_DIR=str(BENCH),
        DJANGO_SETTINGS_MODULE="nyiops.settings",
        NYIOPS_DISPATCH_INTERVAL="0.5",
    )
    procs: list[subprocess.Popen] = []
    # A bounded run stopped early (timeout, kill) still stops everything it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        state = start_stack(env, procs, args.fleet, args.workers)
        os.environ.update(env)
        import django

        django.setup()
        from alerts.models import EscalationPolicy
        from hosts.models import ClusterMember, Host

        pairs = [("fw-pair-1", "fw1a")]
        if args.fleet:
            members = ClusterMember.objects.filter(cluster__kind__in=["firewall", "loadbalancer"])
            pairs = sorted(members.values_list("cluster__name", "host__name"))
            if args.poll_interval:
                Host.objects.filter(memberships__in=members).update(
                    poll_interval=args.poll_interval
                )
        else:
            Host.objects.filter(name__in=["fw1a", "fw1b"]).update(poll_interval=args.poll_interval)
        EscalationPolicy.objects.update(max_pages_per_hour=10_000)
        standing = "not acknowledged"
        if args.fleet:
            # The target is a fleet under steady polling: wait for every host's first poll
            # (connections open, rows stored, judged) before the first fault.
            t0 = time.monotonic()
            wait_for(
                "every host's first poll",
                lambda: not Host.objects.filter(last_poll_at__isnull=True).exists(),
                900,
                1.0,
            )
            print(f"first sweep done in {time.monotonic() - t0:.0f} s", flush=True)
            # The first sweep (new connections) takes far longer than an interval, so hosts
            # polled early in it go stale before their second poll: poll_stale alerts, opened
            # by the 30 s sweeper, that page a minute later. Steady means every host polled
            # again after the first sweep, and the sweepers having seen that.
            swept = datetime.now(UTC)
            wait_for(
                "every host's second poll",
                lambda: not Host.objects.filter(last_poll_at__lt=swept).exists(),
                300,
                1.0,
            )
            time.sleep(35)  # sweep_poll_health and sync_all_alerts run every 30 s
            print(f"steady after {time.monotonic() - t0:.0f} s", flush=True)
            if not args.page_standing:
                standing = acknowledge_standing_alerts()
                print(f"standing alerts acknowledged: {standing}", flush=True)
        rng = random.Random(args.seed)
        runs = []
        for i in range(args.runs):
            cluster, host = rng.choice(pairs)
            try:
                runs.append(one_run(env, state, cluster, host))
            except TimedOut as exc:
                # A miss counts (as infinitely late) instead of ending the bench.
                runs.append({"missed": str(exc), "target": host})
                ctl(state, "heal", host)
            print(f"run {i + 1:2d}: {runs[-1]}", flush=True)
        late = float("inf")
        summary = {
            key: {
                "p50": percentile([r.get(key, late) for r in runs], 50),
                "p95": percentile([r.get(key, late) for r in runs], 95),
                "max": max(r.get(key, late) for r in runs),
            }
            for key in (
                "alert_s",
                "page_s",
                "applied_to_page_s",
                "finding_to_alert_s",
                "finding_to_page_s",
            )
        }
        summary["missed"] = sum("missed" in r for r in runs)
        summary["ack_link"] = follow_ack_link(BENCH / "worker.log")
        summary["fleet"] = Host.objects.count()
        summary["standing_alerts"] = standing
        summary["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))
        print(json.dumps(summary, indent=2))
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(BENCH / "fleet", ignore_errors=True)


if __name__ == "__main__":
    main()
