"""Operations speed: CARP maintenance, HAProxy drain and pf push on the demo fleet.

    .venv/bin/python bench/operations.py [--carp 10] [--drain 5] [--pf 5]
        [--out var/bench/operations.json]

In one process, under var/bench/operations/ (a fresh NYIOPS_VAR_DIR and SQLite database):
migrate, start fleetsim (demo/fleet.yaml) in a thread, import its inventory, poll every host,
then time the engine exactly as the worker runs it (`operations.engine.run`), from the
approval to:
- CARP maintenance of fw1a: the demote step verified (every vhid MASTER on fw1b and BACKUP on
  fw1a, as polled); target p95 <= 3 x advbase + 3 s. Each run is followed by an (untimed)
  carp-maintenance-end so the next starts from the same state.
- drain of acme-web/web3 on lb-pair-1 to succeeded (MAINT on both LBs, state saved); target
  for a server with no sessions <= 2 poll intervals (20 s). web3 carries sessions in the demo
  fleet, so the wait for them to reach 0 is reported apart, and the time without it. Undrained
  after each run, untimed.
- pf push to fw-pair-1 of the loaded ruleset plus one rule, to the point where it waits for
  the person's confirmation (uploaded, checked, saved, loaded and verified on both); target
  <= 10 s. Confirmed after each run, untimed.
SSH round trips are counted per run: every command the engine sends plus every host poll it
makes (one exec each, on the persistent connection).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
BENCH = REPO / "var" / "bench" / "operations"

from _common import percentile  # noqa: E402


def setup_django() -> None:
    shutil.rmtree(BENCH, ignore_errors=True)
    BENCH.mkdir(parents=True)
    os.environ["NYIOPS_VAR_DIR"] = str(BENCH)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Counter:
    """Counts SSH round trips the engine makes (sends and host polls)."""

    def __init__(self, engine):
        self.sends = self.polls = 0
        real_send, real_refresh = engine.send, engine.refresh

        def send(host, cmd, timeout):
            self.sends += 1
            return real_send(host, cmd, timeout)

        def refresh(host_ids):
            self.polls += len(list(host_ids))
            return real_refresh(host_ids)

        engine.send, engine.refresh = send, refresh

    def take(self) -> int:
        n, self.sends, self.polls = self.sends + self.polls, 0, 0
        return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--carp", type=int, default=10)
    ap.add_argument("--drain", type=int, default=5)
    ap.add_argument("--pf", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "var" / "bench" / "operations.json"))
    args = ap.parse_args()
    setup_django()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from fleetsim.testing import running_fleet
    from hosts.models import CarpVhid, Host
    from hosts.polling.run import CONNECTIONS, poll_host
    from operations import engine, services

    services._send = lambda op_id: None  # this process is the worker
    settings.NYIOPS_OPERATION_VERIFY_INTERVAL_SECONDS = 0.2
    users = get_user_model().objects
    nora = users.create_user("nora-noc", password="x" * 16)
    sam = users.create_user("sam-noc", password="x" * 16)
    results: dict[str, dict] = {}

    def fresh():
        # The poller runs all the time in production; here it runs before each plan.
        for host in Host.objects.select_related("credential").filter(
            name__in=["fw1a", "fw1b", "lb1a", "lb1b"]
        ):
            poll_host(host)

    def run(kind, target, params, approver):
        fresh()
        op = services.request_operation(kind, target, params, by=nora)
        started = time.perf_counter()
        services.approve(op, by=approver)
        engine.run(op.pk)
        op.refresh_from_db()
        return op, time.perf_counter() - started

    with running_fleet(REPO / "demo" / "fleet.yaml", BENCH / "fleet", base_port=0) as fleet:
        call_command("import_inventory", str(fleet.inventory_path), verbosity=0)
        for host in Host.objects.select_related("credential"):
            poll_host(host)
        counter = Counter(engine)
        advbase = max(CarpVhid.objects.filter(host__name="fw1a").values_list("advbase", flat=True))

        times, trips = [], []
        for _ in range(args.carp):
            counter.take()
            op = services.request_operation(
                "carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora
            )
            services.approve(op, by=sam)
            engine.run(op.pk)
            op.refresh_from_db()
            assert op.state == "succeeded", op.result
            # approval -> the demote step verified (its step-done entry)
            done = op.events.filter(kind="step-done").order_by("at", "pk").first().at
            times.append((done - op.approved_at).total_seconds())
            trips.append(counter.take())
            end, _e = run("carp-maintenance-end", "fw-pair-1", {"node": "fw1a"}, nora)
            assert end.state == "succeeded", end.result
            counter.take()
        results["carp_maintenance"] = summary(times, trips, target=3 * advbase + 3)

        times, trips, waits = [], [], []
        for _ in range(args.drain):
            op, elapsed = run("haproxy-drain", "acme-web/web3", {}, nora)
            assert op.state == "succeeded", op.result
            times.append(elapsed)
            waits.append(session_wait(op))
            trips.append(counter.take())
            back, _e = run("haproxy-undrain", "acme-web/web3", {}, nora)
            assert back.state == "succeeded", back.result
            counter.take()
        interval = Host.objects.get(name="lb1a").poll_interval
        results["haproxy_drain"] = summary(times, trips, target=2 * interval)
        results["haproxy_drain"]["sessions_wait_p50_s"] = round(percentile(waits, 50), 2)
        results["haproxy_drain"]["without_sessions_wait_p50_s"] = round(
            percentile([t - w for t, w in zip(times, waits, strict=True)], 50), 2
        )

        times, trips = [], []
        for i in range(args.pf):
            ruleset = fleet.state("fw1a")["files"]["/etc/pf.conf"]
            ruleset += f"pass in quick on igb1 proto tcp from any to any port {8000 + i}\n"
            op, elapsed = run("pf-push", "fw-pair-1", {"ruleset": ruleset}, sam)
            assert op.awaiting == "confirm", op.result
            times.append(elapsed)
            trips.append(counter.take())
            services.answer(op, "confirm", by=sam)
            engine.run(op.pk)
            op.refresh_from_db()
            assert op.state == "succeeded", op.result
            counter.take()
        results["pf_push_until_confirm"] = summary(times, trips, target=10)
        CONNECTIONS.close_all()

    results["machine"] = {"cpus": os.cpu_count(), "load": os.getloadavg()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    for name, r in results.items():
        print(name, json.dumps(r))
    return 0


def session_wait(op) -> float:
    """Seconds the drain spent waiting for sessions to reach 0: from the step before it
    being done to the sessions step being done."""
    done = list(
        op.events.filter(kind="step-done").order_by("at", "pk").values_list("at", "message")
    )
    for (before, _), (at, message) in itertools.pairwise(done):
        if "(sessions)" in message:
            return (at - before).total_seconds()
    return 0.0


def summary(times: list[float], trips: list[int], *, target: float) -> dict:
    return {
        "runs": len(times),
        "p50_s": round(percentile(times, 50), 2),
        "p95_s": round(percentile(times, 95), 2),
        "max_s": round(max(times), 2),
        "target_s": target,
        "met": percentile(times, 95) <= target,
        "ssh_round_trips_median": statistics.median(trips),
    }


if __name__ == "__main__":
    sys.exit(main())
