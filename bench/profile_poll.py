"""Profile the worker's cost of polling unchanged hosts: CPU per poll by role, and cProfile.

    .venv/bin/python bench/profile_poll.py [--extra 40] [--rounds 5] [--top 30]
        [--out var/bench/profile_poll.txt]

Starts fleetsim (demo fleet plus --extra generated hosts) on loopback, imports its inventory
into DATABASE_URL (default: SQLite under var/bench/profile/), warms every host with two polls
(connections open, rows stored, findings judged), then runs --rounds more polls of every host
through the Celery task's own code (`hosts.tasks.poll_host`, claim and all, in this process)
and reports the process CPU time per poll by role (time.process_time: this process, all
its threads, so paramiko's too; fleetsim runs in its own process), how many hosts a round
with the counters' once-a-minute sample due judges, the CPU per call of each
part of an unchanged poll measured alone (judging one host of each role and its clusters,
judging every host once, and the check a moved pf count gets), and a cProfile of --rounds
more rounds (profiled apart: the profiler costs more than an unchanged poll).
Nothing here is a test: numbers depend on the machine's load, printed beside them.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile, start_demo_fleet

# Importing nyiops reads the settings (its Celery app): choose this bench's own var/ first,
# so this process and the processes it starts share one database.
os.environ["NYIOPS_VAR_DIR"] = str(
    Path(__file__).resolve().parents[1] / "var" / "bench" / "profile" / "var"
)


REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "var" / "bench" / "profile"
sys.path.insert(0, str(REPO))


def poll_all(hosts, stats=None) -> None:
    from django.utils import timezone

    from hosts.models import Host
    from hosts.tasks import claim_due_hosts, poll_host

    Host.objects.update(next_poll_at=timezone.now(), poll_claimed_until=None)
    role_of = {h.pk: h.roles[0] if h.roles else "-" for h in hosts}
    for pk, token in claim_due_hosts(limit=100_000):
        t0 = time.process_time()
        poll_host.run(pk, token)
        if stats is not None:
            stats[role_of[pk]].append((time.process_time() - t0) * 1000)


def sampled_round(hosts) -> dict[str, float]:
    """One round of polls with every host's once-a-minute counter sample due, after the pf
    and HAProxy counters had time to move: how many hosts were judged (their
    HostFacts.evaluated_at moved), how many pf counts moved, and the round's CPU per poll."""
    from datetime import timedelta

    from django.utils import timezone

    from hosts.models import HostFacts

    time.sleep(6)  # fleetsim's pf counts step every 5 s of its clock
    HostFacts.objects.update(metrics_sampled_at=timezone.now() - timedelta(seconds=61))
    before = {
        pk: (at, n)
        for pk, at, n in HostFacts.objects.values_list("host_id", "evaluated_at", "pf_states")
    }
    t0 = time.process_time()
    poll_all(hosts)
    cpu = (time.process_time() - t0) * 1000 / len(hosts)
    after = {
        pk: (at, n)
        for pk, at, n in HostFacts.objects.values_list("host_id", "evaluated_at", "pf_states")
    }
    return {
        "hosts": len(hosts),
        "judged": sum(1 for pk, (at, _) in after.items() if at != before.get(pk, (None,))[0]),
        "pf counts moved": sum(1 for pk, (_, n) in after.items() if n != before.get(pk, (0, n))[1]),
        "CPU ms per poll": round(cpu, 2),
    }


def components(hosts, n: int) -> dict[str, float]:
    """CPU per call of the parts of an unchanged poll, each alone, on one web host."""
    from django.db.models import Exists, OuterRef

    from hosts.models import ClusterMember, Host
    from hosts.polling.plan import plan_for
    from hosts.polling.run import CONNECTIONS, ssh_target

    host = next(h for h in hosts if h.roles == ["web"])
    host = Host.objects.select_related("credential").get(pk=host.pk)
    plan = plan_for(host, [], in_cluster=False)
    target, script = ssh_target(host), plan.script()
    out = {}

    def timed(name, fn):
        fn()
        t0 = time.process_time()
        for _ in range(n):
            fn()
        out[name] = (time.process_time() - t0) * 1000 / n

    timed("ssh exec (persistent connection)", lambda: CONNECTIONS.run(target, script))
    stdout = CONNECTIONS.run(target, script).stdout
    try:  # absent before the fast path existed (a before/after run on an older tree)
        from hosts.polling.fingerprints import poll_digest, section_fingerprint
    except ImportError:
        return out
    timed(
        "split + fingerprints",
        lambda: [
            poll_digest(
                (s.command.key, section_fingerprint(s.command.kind, s.output, s.exit_status))
                for s in plan.split(stdout)[0]
            )
        ],
    )
    timed(
        "task SELECT (host, credential, in_cluster)",
        lambda: (
            Host.objects.select_related("credential")
            .annotate(in_cluster=Exists(ClusterMember.objects.filter(host=OuterRef("pk"))))
            .filter(pk=host.pk, enabled=True)
            .first()
        ),
    )
    timed(
        "fast-path UPDATE (no row matched)",
        lambda: Host.objects.filter(pk=host.pk, facts__poll_digest="x").update(
            last_poll_duration_ms=1
        ),
    )
    from django.db import transaction
    from django.utils import timezone

    from hosts.health.store import evaluate_and_store

    for role in ("web", "firewall", "loadbalancer", "storage"):
        member = next(h for h in hosts if role in h.roles)

        def judge(member=member):
            with transaction.atomic():
                evaluate_and_store(member, now=timezone.now())

        timed(f"judge one {role} host and its clusters (evaluate_and_store)", judge)

    def judge_all():
        with transaction.atomic():
            for h in hosts:
                evaluate_and_store(h, now=timezone.now())

    judge_all()
    t0 = time.process_time()
    judge_all()
    out["judge every host once, mean per host"] = (time.process_time() - t0) * 1000 / len(hosts)
    try:  # absent before issue 12's judging work (a before/after run on an older tree)
        from hosts.health.store import pf_states_need_judging
    except ImportError:
        return out
    member = next(h for h in hosts if "firewall" in h.roles)
    timed(
        "a firewall's pf count moved: must it be judged? (pf_states_need_judging)",
        lambda: pf_states_need_judging(member, 12345),
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=BENCH.parent / "profile_poll.txt")
    args = parser.parse_args()
    subprocess.run(["rm", "-rf", str(BENCH)], check=True)
    BENCH.mkdir(parents=True)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH / 'db.sqlite3'}")
    os.environ.update(NYIOPS_VAR_DIR=str(BENCH / "var"), DJANGO_SETTINGS_MODULE="nyiops.settings")
    if os.environ["DATABASE_URL"].startswith("postgres"):
        import psycopg

        base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    from hosts.models import Host

    fleet = start_demo_fleet(BENCH / "fleet", args.extra, dict(os.environ), timeout=120)
    try:
        call_command("migrate", verbosity=0)
        call_command("import_inventory", str(BENCH / "fleet" / "inventory.yaml"), verbosity=0)
        hosts = list(Host.objects.all())
        poll_all(hosts)
        poll_all(hosts)
        stats: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.rounds):
            poll_all(hosts, stats)
        # Profiled separately: cProfile itself costs more CPU than an unchanged poll.
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.rounds):
            poll_all(hosts)
        profile.disable()
        parts = components(hosts, args.rounds * 20)
        sampled = sampled_round(hosts)
    finally:
        fleet.terminate()
        fleet.wait(timeout=30)
    out = io.StringIO()
    load = os.getloadavg()
    print(f"DATABASE_URL scheme: {os.environ['DATABASE_URL'].split(':')[0]}", file=out)
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", file=out)
    every = [v for values in stats.values() for v in values]
    print(
        f"all: {len(every)} polls, CPU ms p50 {percentile(every, 50):.2f} "
        f"mean {sum(every) / len(every):.2f} p95 {percentile(every, 95):.2f}",
        file=out,
    )
    for role, values in sorted(stats.items()):
        print(
            f"{role:>14}: {len(values):4} polls, CPU ms p50 {percentile(values, 50):.2f} "
            f"p95 {percentile(values, 95):.2f}",
            file=out,
        )
    print(f"a round with the counters' sample due: {sampled}", file=out)
    for name, value in parts.items():
        print(f"component {name}: {value:.3f} ms CPU per call", file=out)
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    args.out.write_text(out.getvalue())
    print(out.getvalue()[:6000])


if __name__ == "__main__":
    main()
