"""Start fleetsim with --scale N (default 1000) and report start time and memory.

    .venv/bin/python bench/fleetsim_scale.py [--scale 1000] [--keep DIR]

Runs the server as a subprocess on free loopback ports, times it from spawn to the ready
line (cold: new state dir, keys generated; warm: a restart on the same state), reads RSS
from /proc, runs one exec on a few hosts over SSH (asyncssh client) and the batch a poller
sends to a firewall, then stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from bench/: make the project importable

from nyiops.processes import fleetsim_argv, spawn, stop  # noqa: E402

BATCH = (
    "LC_ALL=C; export LC_ALL; echo '@@@ifconfig'; ifconfig -a; echo \"@@@rc $?\"; "
    "echo '@@@sysctl'; sysctl net.inet.carp; echo \"@@@rc $?\"; echo '@@@pf'; pfctl -si; "
    'echo "@@@rc $?"; gmirror list; zpool status -p'
)


def rss_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def start(state: Path, n: int) -> tuple[subprocess.Popen, float, str]:
    t0 = time.monotonic()
    proc = spawn(fleetsim_argv(REPO / "demo" / "fleet.yaml", state, scale=n), log=None)
    line = proc.stdout.readline()  # bounded: the server prints it once, or exits
    took = time.monotonic() - t0
    if not line.startswith("fleetsim: serving"):
        stop([proc])
        raise SystemExit(f"server did not start: {line!r}")
    return proc, took, line.strip()


async def probe(state: Path, samples: int) -> list[float]:
    inv = yaml.safe_load((state / "inventory.yaml").read_text())
    key = asyncssh.read_private_key(str(state / "client_key"))
    hosts = random.Random(1).sample(inv["hosts"], samples)
    times = []
    for h in hosts:
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{h['ssh_port']} {h['host_key']}\n")
        t0 = time.monotonic()
        async with asyncssh.connect(
            "127.0.0.1", h["ssh_port"], username="nyiops", client_keys=[key], known_hosts=known
        ) as conn:
            r = await conn.run(BATCH, check=False)
            assert r.exit_status == 0 and "@@@rc 0" in r.stdout, r.stderr
        times.append(time.monotonic() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1000)
    ap.add_argument("--keep")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="fleetsim-bench-")
    state = Path(args.keep or tmp.name) / "state"
    for phase in ("cold", "warm"):
        proc, took, line = start(state, args.scale)
        time.sleep(2)  # let the ticker run a few rounds before measuring steady memory
        rss, peak = rss_mb(proc.pid)
        times = asyncio.run(probe(state, 10))
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(5)
        idle = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        stop([proc], timeout=30)
        print(f"{phase}: {line[:70]}...")
        print(
            f"{phase}: start {took:.2f} s, RSS {rss:.0f} MB (peak {peak:.0f} MB), "
            f"idle CPU {idle:.0f}% of one core, new connection + poll batch median "
            f"{sorted(times)[len(times) // 2] * 1000:.0f} ms"
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()
