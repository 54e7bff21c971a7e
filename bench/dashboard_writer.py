"""The sweeping poller's writes, without SSH: the load bench/dashboard.py --sweeping runs
beside the dashboard it times.

    DATABASE_URL=postgres://.../test_db .venv/bin/python bench/dashboard_writer.py \
        [--counters-per-second 10] [--changes-per-second 1] [--seconds 600]

Every second, on hosts drawn at random from a pool of the seeded fleet (`--pool` hosts with
counters and as many cluster members, judged once first as a running poller has them):
- `--counters-per-second` hosts (default 10: 1 % of 1,000) get their counters sampled as the
  poll's full path stores them once a minute: pf state count on the facts row, sessions on
  each HAProxy backend; the host is re-judged (the real `evaluate_and_store`, as the poll
  re-judges a moved pf state count) and the dashboard's generation bumped only if findings
  changed, exactly as hosts/polling/run.py decides;
- `--changes-per-second` hosts get a state change a widget shows: a CARP pair failing over
  (vhid states swapped on both members), a jail stopped or started, a backend server going
  DOWN or UP; each stored as the poll's store does (rows, a StatusEvent), judged, and the
  topics' generations bumped in the same transaction (hosts/dashboard/generation.py).
SSH, parsing and fingerprints are not run: bench/poll_throughput.py measures those. Prints
what it wrote when it ends (SIGTERM or --seconds)."""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from hosts.dashboard.generation import bump, topics_for_host  # noqa: E402
from hosts.health.store import evaluate_and_store  # noqa: E402
from hosts.models import (  # noqa: E402
    CarpVhid,
    ClusterMember,
    HaproxyBackend,
    Host,
    HostFacts,
    Jail,
    StatusEvent,
)

STOP = False


def _stop(*_args) -> None:
    global STOP
    STOP = True


def sample_counters(host: Host, rng: random.Random) -> bool:
    """One host's once-a-minute counter sample. Returns whether it bumped."""
    with transaction.atomic():
        facts = HostFacts.objects.select_for_update().get(host=host)
        # Both members of a synced pair see about the same count (pfsync): a walk around
        # 10,000 keeps the pair within the state_tables_diverged threshold.
        facts.pf_states = 10_000 + rng.randint(-150, 150)
        facts.metrics_sampled_at = timezone.now()
        facts.save(update_fields=["pf_states", "metrics_sampled_at"])
        for backend in HaproxyBackend.objects.filter(host=host):
            backend.scur = rng.randint(0, 900)
            backend.save(update_fields=["scur"])
        scopes, _count, _due = evaluate_and_store(host, now=timezone.now())
        if scopes:
            bump(topics_for_host(host.pk))
        return bool(scopes)


def change_state(host: Host, rng: random.Random) -> str:
    """One shown state change on `host`, as its poll would store it."""
    now = timezone.now()
    with transaction.atomic():
        Host.objects.select_for_update().filter(pk=host.pk).first()
        vhids = list(CarpVhid.objects.filter(host=host))
        jails = list(Jail.objects.filter(host=host)[:5])
        backends = list(HaproxyBackend.objects.filter(host=host)[:1])
        events = []
        if backends:
            b = backends[0]
            old = b.servers_up
            b.servers_up = b.servers_total if old < b.servers_total else max(0, old - 1)
            b.save(update_fields=["servers_up"])
            what = f"backend {b.name} {old}->{b.servers_up} UP"
            events.append(("haproxy", b.name, "servers_up", old, b.servers_up))
        elif jails:
            j = rng.choice(jails)
            j.running = not j.running
            j.save(update_fields=["running"])
            what = f"jail {j.name} running={j.running}"
            events.append(("jail", j.name, "running", not j.running, j.running))
        elif vhids:
            # A failover: this member's vhids and its peer's swap MASTER and BACKUP.
            peers = ClusterMember.objects.filter(cluster__members__host=host).values_list(
                "host_id", flat=True
            )
            for v in CarpVhid.objects.filter(host_id__in=peers):
                new = "BACKUP" if v.state == "MASTER" else "MASTER"
                events.append(("carp", f"{v.interface} vhid {v.vhid}", "state", v.state, new))
                v.state = new
                v.save(update_fields=["state"])
            what = "CARP failover"
        else:
            return "nothing to change"
        StatusEvent.objects.bulk_create(
            StatusEvent(host=host, at=now, subject_type=t, subject=s, field=f, old=o, new=n)
            for t, s, f, o, n in events
        )
        evaluate_and_store(host, now=now)
        # A failover changes the peer's rows too: its topics are the host's (one cluster).
        bump(topics_for_host(host.pk))
    return what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counters-per-second", type=float, default=10)
    parser.add_argument("--changes-per-second", type=float, default=1)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pool", type=int, default=100, help="hosts drawn from, per kind")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    rng = random.Random(args.seed)
    with_counters = Host.objects.filter(facts__pf_states__isnull=False).order_by("pk")
    members = Host.objects.filter(memberships__isnull=False).distinct().order_by("pk")
    counter_hosts = rng.sample(list(with_counters), min(args.pool, with_counters.count()))
    change_hosts = rng.sample(list(members), min(args.pool, members.count()))
    # The seeded findings are not what the rules would say: judge the pool once first, as a
    # running poller has, so a sample's "changed findings" are its own.
    clock = time.monotonic()
    for host in {h.pk: h for h in counter_hosts + change_hosts}.values():
        with transaction.atomic():
            sample_counters(host, rng)
    print(f"writer: judged its {args.pool}+{args.pool} hosts in {time.monotonic() - clock:.0f} s")
    counted = {"counters": 0, "counter_bumps": 0, "changes": 0}
    started = time.monotonic()
    # A rate of 0 is never due.
    due_counter = started if args.counters_per_second else float("inf")
    due_change = started if args.changes_per_second else float("inf")
    sys.stdout.flush()
    while not STOP and time.monotonic() - started < args.seconds:
        now = time.monotonic()
        if now >= due_counter:
            counted["counter_bumps"] += sample_counters(rng.choice(counter_hosts), rng)
            counted["counters"] += 1
            due_counter += 1 / args.counters_per_second
        if now >= due_change:
            change_state(rng.choice(change_hosts), rng)
            counted["changes"] += 1
            due_change += 1 / args.changes_per_second
        time.sleep(min(1.0, max(0.0, min(due_counter, due_change) - time.monotonic())))
    elapsed = time.monotonic() - started
    print(
        f"writer: {elapsed:.0f} s, {counted['counters'] / elapsed:.1f} counter samples/s "
        f"({counted['counter_bumps']} changed findings), "
        f"{counted['changes'] / elapsed:.2f} state changes/s"
    )


if __name__ == "__main__":
    main()
