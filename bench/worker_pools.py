"""What a prefork worker costs next to the threads pool (RELIABILITY A7).

    .venv/bin/python bench/worker_pools.py [--tasks 400] [--concurrency 4]
        [--out var/bench/worker_pools.json]

The threads pool ignores Celery's time limits; prefork enforces them by killing the child.
nyiops keeps threads and bounds every task itself (nyiops/deadline.py, SSH deadlines,
PostgreSQL statement_timeout). This measures what prefork would cost instead, on the same
machine and broker: a private redis-server, the demo's SQLite database in a fresh
NYIOPS_VAR_DIR under var/bench/pools/, one worker per pool with the same concurrency and
queues. Per pool: memory of the whole worker (parent and children; RSS, and PSS, which
splits the pages forked children share) once ready and after the run, the time until
ready, and the time to drain --tasks `worker_canary` tasks (each one DB upsert, the
smallest real task), sent all at once; CPU seconds of the worker tree over the drain.
Everything on 127.0.0.1; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import spawn

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "var" / "bench" / "pools"
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(proc: subprocess.Popen) -> list[psutil.Process]:
    root = psutil.Process(proc.pid)
    return [root, *root.children(recursive=True)]


def rss_mib(proc) -> float:
    return sum(p.memory_info().rss for p in tree(proc)) / 2**20


def pss_mib(proc) -> float:
    """Proportional set size: forked children share pages with the parent, RSS counts
    them in every process."""
    return sum(p.memory_full_info().pss for p in tree(proc)) / 2**20


def cpu_s(proc) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in tree(proc))


def wait_for(what: str, predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def run_pool(pool: str, env: dict, tasks: int, concurrency: int) -> dict:
    from alerts.models import Heartbeat
    from alerts.tasks import worker_canary

    Heartbeat.objects.filter(name__startswith="worker.canary.bench").delete()
    log = BENCH / f"worker-{pool}.log"
    started = time.monotonic()
    proc = spawn(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "nyiops",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "-Q",
            "poll,operations,notify",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
            "-n",
            f"bench-{pool}@%h",
        ],
        env,
        log,
    )
    try:
        wait_for("worker ready", lambda: "ready" in log.read_text(errors="replace"), 120)
        ready_s = time.monotonic() - started
        time.sleep(2)  # let children finish importing
        rss_ready, pss_ready = rss_mib(proc), pss_mib(proc)
        cpu_before = cpu_s(proc)
        t0 = time.monotonic()
        for i in range(tasks):
            worker_canary.apply_async((f"bench{i}",), queue="notify")
        done = Heartbeat.objects.filter(name__startswith="worker.canary.bench")
        wait_for("the tasks to drain", lambda: done.count() >= tasks, 300, 0.1)
        drain_s = time.monotonic() - t0
        return {
            "pool": pool,
            "concurrency": concurrency,
            "processes": len(tree(proc)),
            "ready_s": round(ready_s, 2),
            "rss_ready_mib": round(rss_ready, 1),
            "rss_after_mib": round(rss_mib(proc), 1),
            "pss_ready_mib": round(pss_ready, 1),
            "pss_after_mib": round(pss_mib(proc), 1),
            "tasks": tasks,
            "drain_s": round(drain_s, 2),
            "tasks_per_s": round(tasks / drain_s, 1),
            "cpu_s": round(cpu_s(proc) - cpu_before, 2),
            "cpu_ms_per_task": round((cpu_s(proc) - cpu_before) / tasks * 1000, 2),
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", default=str(REPO / "var" / "bench" / "worker_pools.json"))
    args = parser.parse_args()
    shutil.rmtree(BENCH, ignore_errors=True)
    BENCH.mkdir(parents=True)
    redis_port = free_port()
    env = dict(
        os.environ,
        NYIOPS_VAR_DIR=str(BENCH),
        DJANGO_SETTINGS_MODULE="nyiops.settings",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    env.pop("DATABASE_URL", None)
    redis = spawn(
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
        env,
        BENCH / "redis.log",
    )
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        os.environ.update(env)
        import django

        django.setup()
        results = [run_pool(p, env, args.tasks, args.concurrency) for p in ("threads", "prefork")]
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    Path(args.out).write_text(json.dumps(results, indent=2))
    for r in results:
        print(r)


if __name__ == "__main__":
    main()
