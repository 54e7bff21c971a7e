"""`make demo`: the whole of nyiops on one machine, with nothing but Python.

Migrates, starts the simulated fleet, imports its inventory, seeds the demo users, then runs
the web server, a Celery worker and beat until Ctrl-C, SIGTERM or SIGHUP (a closed terminal,
`kill`, a supervisor), which stop every process it started. With no DATABASE_URL/REDIS_URL
set, that is SQLite and kombu's filesystem broker under var/. The running children's process
ids are in var/demo.pids (name pid per line) while it runs.
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
PIDS = VAR / "demo.pids"


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP, like KeyboardInterrupt for Ctrl-C."""


def _stop_on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def start(name: str, argv: list[str], procs: list) -> subprocess.Popen:
    log = open(VAR / f"demo-{name}.log", "ab")  # noqa: SIM115 - closed at exit with the process
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    procs.append((name, proc, log))
    PIDS.write_text("".join(f"{n} {p.pid}\n" for n, p, _l in procs))
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
    # A second signal must not cut the clean-up short and leave children behind.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
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
    PIDS.unlink(missing_ok=True)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")
    procs: list = []
    try:
        manage("migrate", "--no-input", "-v", "0")
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
            "  Admin:    admin / nyiops-demo-admin\n"
            "  2FA:      staff log in with a TOTP code: add the secrets printed above to an\n"
            "            authenticator app, or get the current code with\n"
            f"            {PYTHON} manage.py seed_demo --code noc   (or admin, oncall)\n"
            f"  Fleet:    {FLEET_STATE} (inject faults: {PYTHON} -m fleetsim ctl --state "
            f"{FLEET_STATE} fault fw1a down)\n"
            f"  Logs:     {VAR}/demo-*.log\nCtrl-C (or SIGTERM, SIGHUP) stops everything.\n",
            flush=True,
        )
        while all(proc.poll() is None for _n, proc, _l in procs):
            time.sleep(0.5)
        dead = [name for name, proc, _l in procs if proc.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited; see {VAR}/demo-{dead[0]}.log", flush=True)
    except (KeyboardInterrupt, Stop) as exc:
        print(f"\nstopping ({exc or 'Ctrl-C'})...", flush=True)
    finally:
        stop_all(procs)


if __name__ == "__main__":
    main()
