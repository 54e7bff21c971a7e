"""`make demo` (demo/run.py) stops everything it started on SIGTERM and SIGHUP, not only on
Ctrl-C: no fleetsim, web, worker or beat left running or holding its port.

A real demo in a subprocess with its own var/ directory (SQLite, filesystem broker) and free
ports; the test waits for the banner (the event), signals, then checks the processes and the
ports. Marked `sim`: it runs the simulated fleet."""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STARTUP_LIMIT = 240  # s; a loaded 2-core machine migrates, seeds and starts four processes
pytestmark = pytest.mark.sim


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its exit status is left for the parent (gone too) to read.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def start_demo(var: Path, web_port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {
        "NYIOPS_VAR_DIR": str(var),
        "NYIOPS_DEMO_ADDR": f"127.0.0.1:{web_port}",
        "NYIOPS_DEMO_FLEET_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "demo/run.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_banner(demo: subprocess.Popen) -> tuple[str, queue.Queue, threading.Thread]:
    """The demo's output up to its banner; the rest keeps arriving on the returned queue
    (read by a thread, so a silent hang ends at the deadline instead of blocking; the
    thread ends at the demo's end of output)."""
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in demo.stdout], daemon=True)
    reader.start()
    seen = []
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if demo.poll() is not None:
                break
            continue
        seen.append(line)
        if "nyiops demo running at" in line:
            return "".join(seen), lines, reader
    demo.kill()
    pytest.fail("the demo did not start:\n" + "".join(seen[-40:]))


def rest_of(lines: queue.Queue) -> str:
    out = []
    while not lines.empty():
        out.append(lines.get())
    return "".join(out)


def children(var: Path) -> dict[str, int]:
    lines = (var / "demo.pids").read_text().split("\n")
    return {name: int(pid) for name, pid in (line.split() for line in lines if line)}


def fleet_ports(var: Path) -> list[int]:
    inventory = yaml.safe_load((var / "fleet" / "inventory.yaml").read_text())
    return sorted({h["ssh_port"] for h in inventory["hosts"]})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_demo_stops_everything_it_started(tmp_path, sig):
    var, web_port = tmp_path / "var", free_port()
    demo = start_demo(var, web_port)
    try:
        banner, lines, reader = wait_for_banner(demo)
        procs = children(var)
        ports = fleet_ports(var)
        assert set(procs) == {"fleetsim", "web", "worker", "beat"}, banner
        assert all(alive(pid) for pid in procs.values())

        demo.send_signal(sig)
        demo.wait(timeout=60)
        reader.join(timeout=60)  # everything the demo printed, up to its end of output
        rest = rest_of(lines)
    finally:
        if demo.poll() is None:
            demo.kill()

    assert "stopping" in rest
    assert not [name for name, pid in procs.items() if alive(pid)]
    assert not listening(web_port)
    assert ports and not [p for p in ports if listening(p)]
    assert not (var / "demo.pids").exists()
