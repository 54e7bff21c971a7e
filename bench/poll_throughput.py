"""Poll throughput: nyiops' Celery poll pipeline against Ansible's `raw` module, same fleet.

    .venv/bin/python bench/poll_throughput.py [--sizes 100,500,1000] [--concurrency 32]
        [--sweeps 3] [--no-ansible] [--out var/bench/poll_throughput.json]

For each fleet size N it starts fleetsim (the demo fleet plus N-20 generated hosts) in its
own process, imports its inventory into a fresh PostgreSQL database, starts a real Celery
worker (thread pool) on Redis, and then, per sweep: marks every host due, claims them the
way the beat dispatcher does, sends the poll tasks as it does (`send_polls`: batches of
NYIOPS_POLL_BATCH hosts) and waits until every host's poll is stored and judged.
Reported: sweep time, polls/s, p50/p95 of each poll's SSH time and of its dispatch-to-stored
time, worker CPU seconds and RSS, then the worker's idle CPU
and RSS while it holds N persistent connections. Ansible (ansible-core, installed into its
own venv under var/bench/) runs each host's same poll script with `-m raw -f 50`.

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/nyiops_bench) and
Redis (REDIS_URL, default redis://127.0.0.1:6379/5). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile, start_demo_fleet

# Importing nyiops reads the settings (its Celery app): choose this bench's own var/ first,
# so this process (which imports the inventory, encrypting its key with var/'s secret) and
# the workers it starts share one secret key.
os.environ["NYIOPS_VAR_DIR"] = os.environ.get("NYIOPS_VAR_DIR") or str(
    Path(__file__).resolve().parents[1] / "var" / "bench" / "var"
)
from nyiops.processes import spawn, stop, worker_argv

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
BENCH_DIR = REPO / "var" / "bench"
ANSIBLE_VERSION = "2.19.14"  # the newest ansible-core for Python 3.11 (2.20+ needs 3.12)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def start_worker(env: dict, concurrency: int, log: Path) -> subprocess.Popen:
    proc = spawn(
        worker_argv(
            "poll", concurrency, "--without-gossip", "--without-mingle", loglevel="WARNING"
        ),
        log=log,
        env=env,
    )
    from nyiops.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start; see {log}")
    return proc


def wait_for_shards(workers: int) -> None:
    """Every worker holds its poll shard (host affinity) before the first sweep: a ping
    answers as soon as one worker is up, and hosts are hashed over the live shards only."""
    from hosts.polling.shards import live_shards

    deadline = time.monotonic() + 120
    while len(live_shards()) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only shards {live_shards()} live of {workers} workers")
        time.sleep(0.5)


def sweep(n_hosts: int, worker_pids: list[int], fleet_pid: int) -> dict:
    from django.utils import timezone

    from hosts.dashboard import generation
    from hosts.models import Host
    from hosts.tasks import claim_due_polls, send_polls

    Host.objects.update(next_poll_at=timezone.now(), poll_claimed_until=None)
    # What a sweep tells the dashboard: the shown changes it stored, by widget topic (the
    # rate bench/dashboard.py --sweeping writes at is checked against this).
    generations = generation.by_topic()
    cpu0, fleet_cpu0 = sum(map(cpu_seconds, worker_pids)), cpu_seconds(fleet_pid)
    start = timezone.now()
    t0 = time.monotonic()
    claimed = claim_due_polls(limit=n_hosts + 10)
    # As the dispatcher sends them (batches over one broker connection): a sweep here is
    # the whole fleet due at once, so every batch starts at once, polled as fast as it can be.
    tasks = send_polls(claimed)
    dispatched = time.monotonic() - t0
    pks = [p.host_id for p in claimed]
    done = Host.objects.filter(pk__in=pks, last_poll_at__gte=start)
    while done.count() < len(claimed):
        if time.monotonic() - t0 > 600:
            raise SystemExit(f"sweep did not finish: {done.count()}/{len(claimed)} polls stored")
        time.sleep(0.05)
    rows = list(done.values("last_poll_duration_ms", "last_poll_at", "reachability"))
    last = max(r["last_poll_at"] for r in rows)
    stored = [(r["last_poll_at"] - start).total_seconds() for r in rows]
    ssh_ms = [r["last_poll_duration_ms"] for r in rows if r["last_poll_duration_ms"] is not None]
    seconds = (last - start).total_seconds()
    not_ok = sum(1 for r in rows if r["reachability"] != "ok")
    return {
        "hosts": len(claimed),
        "sweep_s": round(seconds, 3),
        "polls_per_s": round(len(claimed) / seconds, 1),
        "dispatch_s": round(dispatched, 3),
        "tasks": tasks,
        "poll_ssh_ms_p50": percentile(ssh_ms, 50),
        "poll_ssh_ms_p95": percentile(ssh_ms, 95),
        "dispatch_to_stored_s_p50": round(percentile(stored, 50), 3),
        "dispatch_to_stored_s_p95": round(percentile(stored, 95), 3),
        "not_ok": not_ok,
        "worker_cpu_s": round(sum(map(cpu_seconds, worker_pids)) - cpu0, 2),
        "fleetsim_cpu_s": round(cpu_seconds(fleet_pid) - fleet_cpu0, 2),
        "worker_rss_mb": round(sum(map(rss_mb, worker_pids)), 1),
        "dashboard_bumps": {
            topic: value - generations[topic]
            for topic, value in generation.by_topic().items()
            if value != generations[topic]
        },
    }


def idle(worker_pids: list[int], seconds: float = 10.0) -> dict:
    """Workers holding every host's persistent connection, with no poll running."""
    cpu0 = sum(map(cpu_seconds, worker_pids))
    time.sleep(seconds)
    return {
        "idle_cpu_pct": round(100 * (sum(map(cpu_seconds, worker_pids)) - cpu0) / seconds, 1),
        "idle_rss_mb": round(sum(map(rss_mb, worker_pids)), 1),
    }


def ansible_venv() -> Path:
    venv = BENCH_DIR / "ansible-venv"
    if not (venv / "bin" / "ansible").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", f"ansible-core=={ANSIBLE_VERSION}"],
            check=True,
        )
    return venv


def run_ansible(venv: Path, workdir: Path, fleet_state: Path) -> list[dict]:
    """Each host runs its own poll script (the same one nyiops sends) through `raw`."""
    import yaml

    from hosts.models import BackupJob, Host
    from hosts.polling.plan import plan_for

    inventory = yaml.safe_load((fleet_state / "inventory.yaml").read_text())
    known_hosts, hosts = [], {}
    jobs_by_target: dict[int, list] = {}
    for job in BackupJob.objects.all():
        jobs_by_target.setdefault(job.target_id, []).append(job)
    by_name = {h.name: h for h in Host.objects.all()}
    for entry in inventory["hosts"]:
        host = by_name[entry["name"]]
        known_hosts.append(f"[{entry['address']}]:{entry['ssh_port']} {entry['host_key']}")
        hosts[entry["name"]] = {
            "ansible_host": entry["address"],
            "ansible_port": entry["ssh_port"],
            "poll_script": plan_for(
                host, jobs_by_target.get(host.pk, []), in_cluster=host.memberships.exists()
            ).script(),
        }
    (workdir / "known_hosts").write_text("\n".join(known_hosts) + "\n")
    (workdir / "inventory.yaml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    env = os.environ | {
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        # raw asks for a PTY by default (ssh -tt); nyiops polls without one, and so does this.
        "ANSIBLE_SSH_USETTY": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_SSH_ARGS": (
            f"-o UserKnownHostsFile={workdir / 'known_hosts'} -o StrictHostKeyChecking=yes "
            "-o ControlMaster=auto -o ControlPersist=120s"
        ),
        "ANSIBLE_CONTROL_PATH_DIR": str(workdir / "cp"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_REMOTE_USER": "nyiops",
        "ANSIBLE_PRIVATE_KEY_FILE": str(fleet_state / "client_key"),
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/false",  # raw needs none; gathering is off
    }
    results = []
    for label in ("cold (new SSH connections)", "warm (ControlPersist)"):
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                str(venv / "bin" / "ansible"),
                "all",
                "-i",
                str(workdir / "inventory.yaml"),
                "-m",
                "raw",
                "-a",
                # The same wrapper hosts/ssh.py sends (and `-a "{{ ... }}"` alone would be
                # read as JSON by ansible 2.19).
                "env LC_ALL=C timeout -k 5 16 sh -c {{ poll_script | quote }}",
                "-f",
                "50",
                "-o",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - t0
        ok = proc.stdout.count("| CHANGED") + proc.stdout.count("| SUCCESS")
        if ok != len(hosts):  # a failed run is fast and would flatter Ansible: no number
            tail = proc.stdout[-1500:] + proc.stderr[-1500:]
            raise SystemExit(f"ansible {label}: {ok}/{len(hosts)} hosts ok\n{tail}")
        results.append(
            {
                "run": label,
                "hosts": len(hosts),
                "ok": ok,
                "seconds": round(seconds, 2),
                "hosts_per_s": round(len(hosts) / seconds, 1),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--concurrency", type=int, default=16, help="threads per worker")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--sweeps", type=int, default=3)
    parser.add_argument("--no-ansible", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "poll_throughput.json")
    args = parser.parse_args()

    db_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nyiops_bench")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="nyiops.settings",
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from nyiops.celery import app

    venv = None if args.no_ansible else ansible_venv()
    report = {"machine": {"cpus": os.cpu_count()}, "sizes": []}
    for n in [int(s) for s in args.sizes.split(",")]:
        workdir = BENCH_DIR / f"n{n}"
        subprocess.run(["rm", "-rf", str(workdir)], check=True)
        workdir.mkdir(parents=True)
        connections.close_all()
        reset_database(db_url)
        fleet = start_demo_fleet(workdir / "fleet", max(0, n - 20), dict(os.environ))
        workers: list[subprocess.Popen] = []
        try:
            call_command("migrate", verbosity=0)
            call_command("import_inventory", str(workdir / "fleet" / "inventory.yaml"), verbosity=0)
            app.control.purge()
            workers = [
                start_worker(dict(os.environ), args.concurrency, workdir / f"worker{i}.log")
                for i in range(args.workers)
            ]
            wait_for_shards(args.workers)
            pids = [w.pid for w in workers]
            sweeps = [sweep(n, pids, fleet.pid) for _ in range(args.sweeps)]
            entry = {
                "n": n,
                "workers": args.workers,
                "threads_per_worker": args.concurrency,
                "sweeps": sweeps,
                "idle": idle(pids),
            }
            # Ansible gets the machine to itself: our workers (and their connections) go first.
            stop(workers, timeout=30)
            if venv is not None:
                entry["ansible_raw"] = run_ansible(venv, workdir, workdir / "fleet")
            report["sizes"].append(entry)
            print(json.dumps(entry, indent=2), flush=True)
        finally:
            stop([fleet, *workers], timeout=30)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
