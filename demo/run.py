"""`make demo`: the whole of nyiops on one machine, with nothing but Python.

Migrates, starts the simulated fleet, imports its inventory, seeds the demo users, then runs
the web server, a Celery worker and beat until Ctrl-C, which stops every process it started.
With no DATABASE_URL/REDIS_URL set, that is SQLite and kombu's filesystem broker under var/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VAR = Path(os.environ.get("NYIOPS_VAR_DIR", ROOT / "var"))
FLEET_STATE = VAR / "fleet"
FLEET_SPEC = ROOT / "demo" / "fleet.yaml"
WEB_ADDR = os.environ.get("NYIOPS_DEMO_ADDR", "127.0.0.1:8000")
FLEET_BASE_PORT = os.environ.get("NYIOPS_DEMO_FLEET_PORT", "22000")


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def start(name: str, argv: list[str], procs: list) -> subprocess.Popen:
    log = open(VAR / f"demo-{name}.log", "ab")  # noqa: SIM115 - closed at exit with the process
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    procs.append((name, proc, log))
    return proc


def wait_for_fleet(proc: subprocess.Popen, timeout: float = 60) -> None:
    ready = FLEET_STATE / "ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return
        if proc.poll() is not None:
            raise SystemExit(f"fleetsim exited early; see {VAR / 'demo-fleetsim.log'}")
        time.sleep(0.2)
    raise SystemExit(f"fleetsim not ready after {timeout:.0f}s; see {VAR / 'demo-fleetsim.log'}")


def stop_all(procs: list) -> None:
    for _name, proc, _log in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _name, proc, log in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")
    manage("migrate", "--no-input", "-v", "0")
    procs: list = []
    try:
        (FLEET_STATE / "ready").unlink(missing_ok=True)
        fleet = start(
            "fleetsim",
            [
                PYTHON,
                "-m",
                "fleetsim",
                "serve",
                "--spec",
                str(FLEET_SPEC),
                "--state",
                str(FLEET_STATE),
                "--base-port",
                FLEET_BASE_PORT,
            ],
            procs,
        )
        wait_for_fleet(fleet)
        manage("import_inventory", str(FLEET_STATE / "inventory.yaml"))
        manage("seed_demo")
        manage("seed_oncall_demo")
        # The pending jail request needs its customer's jail hosts observed once.
        manage("poll", "--host", "app1", "--host", "iweb1")
        manage("seed_demo_requests")
        os.environ.setdefault("NYIOPS_BASE_URL", f"http://{WEB_ADDR}")
        start("web", [PYTHON, "manage.py", "runserver", "--noreload", WEB_ADDR], procs)
        start(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "nyiops",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "16",
                "-Q",
                "poll,operations,notify",
                "--loglevel",
                "INFO",
            ],
            procs,
        )
        start(
            "beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "nyiops",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(VAR / "celerybeat-schedule"),
            ],
            procs,
        )
        print(
            f"\nnyiops demo running at http://{WEB_ADDR}/\n"
            "  NOC:      noc / nyiops-demo-noc\n"
            "  On-call:  oncall / nyiops-demo-oncall\n"
            "  Customer: customer / nyiops-demo-customer (first customer of the fleet)\n"
            "  Customer with jails: initech / nyiops-demo-initech (a pending request waits)\n"
            "  Admin:    admin / nyiops-demo-admin\n"
            f"  Fleet:    {FLEET_STATE} (inject faults: {PYTHON} -m fleetsim ctl --state "
            f"{FLEET_STATE} fault fw1a down)\n"
            f"  Logs:     {VAR}/demo-*.log\nCtrl-C stops everything.\n",
            flush=True,
        )
        while all(proc.poll() is None for _n, proc, _l in procs):
            time.sleep(0.5)
        dead = [name for name, proc, _l in procs if proc.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited; see {VAR}/demo-{dead[0]}.log", flush=True)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        stop_all(procs)


if __name__ == "__main__":
    main()
