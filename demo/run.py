"""`make demo`: the whole of nyiops on one machine, with nothing but Python.

Migrates, starts the simulated fleet, imports its inventory, seeds the demo users, then runs
the web server, a Celery worker and beat until Ctrl-C, SIGTERM or SIGHUP (a closed terminal,
`kill`, a supervisor), which stop every process it started. With no DATABASE_URL/REDIS_URL
set, that is SQLite and kombu's filesystem broker under var/. The running children's process
ids are in var/demo.pids (name pid per line) while it runs.
Processes are started and stopped by nyiops.processes (shared with the benches and tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project importable

from nyiops.processes import (  # noqa: E402
    PYTHON,
    celery_argv,
    spawn,
    start_fleetsim,
    stop,
    web_argv,
    worker_argv,
)

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


def log_of(name: str) -> Path:
    return VAR / f"demo-{name}.log"


def record_pids(procs: dict[str, subprocess.Popen]) -> None:
    PIDS.write_text("".join(f"{name} {proc.pid}\n" for name, proc in procs.items()))


def stop_all(procs: dict[str, subprocess.Popen]) -> None:
    # A second signal must not cut the clean-up short and leave children behind.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    stop(list(procs.values()))
    PIDS.unlink(missing_ok=True)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")
    procs: dict[str, subprocess.Popen] = {}
    try:
        manage("migrate", "--no-input", "-v", "0")
        procs["fleetsim"] = start_fleetsim(
            FLEET_SPEC, FLEET_STATE, log=log_of("fleetsim"), base_port=FLEET_BASE_PORT
        )
        record_pids(procs)
        manage("import_inventory", str(FLEET_STATE / "inventory.yaml"))
        manage("seed_demo")
        manage("seed_oncall_demo")
        # The pending jail request needs its customer's jail hosts observed once.
        manage("poll", "--host", "app1", "--host", "iweb1")
        manage("seed_demo_requests")
        os.environ.setdefault("NYIOPS_BASE_URL", f"http://{WEB_ADDR}")
        procs["web"] = spawn(web_argv(WEB_ADDR), log=log_of("web"), append=True)
        procs["worker"] = spawn(
            worker_argv("poll,operations,notify", 16), log=log_of("worker"), append=True
        )
        procs["beat"] = spawn(
            celery_argv(
                "beat", "--loglevel", "INFO", "--schedule", str(VAR / "celerybeat-schedule")
            ),
            log=log_of("beat"),
            append=True,
        )
        record_pids(procs)
        print(
            f"\nnyiops demo running at http://{WEB_ADDR}/\n"
            "  NOC:      noc / nyiops-demo-noc\n"
            "  On-call:  oncall / nyiops-demo-oncall\n"
            "  Customer: customer / nyiops-demo-customer (first customer of the fleet)\n"
            "  Customer with jails: initech / nyiops-demo-initech (a pending request waits)\n"
            "  Admin:    admin / nyiops-demo-admin\n"
            "  2FA:      staff log in with a TOTP code: add the secrets printed above to an\n"
            "            authenticator app, or get the current code with\n"
            f"            {PYTHON} manage.py seed_demo --code noc   (or admin, oncall)\n"
            f"  Fleet:    {FLEET_STATE} (inject faults: {PYTHON} -m fleetsim ctl --state "
            f"{FLEET_STATE} fault fw1a down)\n"
            f"  Logs:     {VAR}/demo-*.log\nCtrl-C (or SIGTERM, SIGHUP) stops everything.\n",
            flush=True,
        )
        while all(proc.poll() is None for proc in procs.values()):
            time.sleep(0.5)
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited; see {log_of(dead[0])}", flush=True)
    except RuntimeError as exc:  # a child did not come up
        print(f"stopping: {exc}", flush=True)
    except (KeyboardInterrupt, Stop) as exc:
        print(f"\nstopping ({exc or 'Ctrl-C'})...", flush=True)
    finally:
        stop_all(procs)


if __name__ == "__main__":
    main()
