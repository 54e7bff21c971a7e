"""The state model: one JSON-able dict per host, built from the spec, persisted per host.

Layout of the state directory:
  hosts/NAME.json   one host's state (written atomically when it changed)
  fleet.json        clock, backup-job runtime, faults already applied
  faults.json       active faults (written by ctl; the server re-reads it)
  ports.json, hostkeys/NAME, client_key(.pub), inventory.yaml, ready
Quantities that only drift with traffic (pf states, sessions) are functions of time, not
stored, so only real transitions make a host dirty.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from . import build, vfs


class Clock:
    """Simulated time: wall time scaled by ``scale`` plus what tests ``advance``."""

    def __init__(self, scale: float = 1.0, start: float | None = None):
        self.scale = scale
        self._real0 = time.monotonic()
        self._sim0 = time.time() if start is None else max(start, time.time())
        self.skew = 0.0

    def now(self) -> float:
        return self._sim0 + (time.monotonic() - self._real0) * self.scale + self.skew


def atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Fleet:
    """All hosts of one spec, with their clusters and backup jobs."""

    def __init__(self, spec: dict, state_dir: str | Path, time_scale: float = 1.0):
        self.spec = spec
        self.dir = Path(state_dir)
        (self.dir / "hosts").mkdir(parents=True, exist_ok=True)
        meta = read_json(self.dir / "fleet.json", {})
        self.clock = Clock(time_scale, meta.get("sim_time"))
        now = self.clock.now()
        self.clusters = {c["name"]: c for c in spec["clusters"]}
        self.host_cluster: dict[str, dict] = {}
        for c in spec["clusters"]:
            for m in c["members"]:
                self.host_cluster.setdefault(m["host"], c)
        self.hosts: dict[str, dict] = {}
        for h in spec["hosts"]:
            key = digest([h, self.host_cluster.get(h["name"]), self._jobs_of(h["name"])])
            saved = read_json(self.dir / "hosts" / f"{h['name']}.json", None)
            if saved and saved.get("spec_digest") == key:
                self.hosts[h["name"]] = saved
            else:
                host = build.host(h, spec, now)
                host["spec_digest"] = key
                self.hosts[h["name"]] = host
            vfs.seed(self.hosts[h["name"]])
        # job runtime lives in the target host's state; this is just name -> spec entry
        self.jobs = {j["name"]: j for j in spec["backup_jobs"]}
        self.applied: list[dict] = meta.get("applied", [])
        self.faults: list[dict] = []
        self.faults_seq = -1
        self.applied_seq = meta.get("applied_seq", -1)
        self.dirty: set[str] = set(self.hosts)
        self.meta_dirty = True
        self.last_step = meta.get("last_step", now)
        self.events: list[str] = []
        # set when a host's reachability changed outside a fault (pf, reboot): the server
        # re-syncs its listeners
        self.listeners_dirty = False

    def _jobs_of(self, name: str) -> list:
        return [j for j in self.spec["backup_jobs"] if name in (j["source"], j["target"])]

    def now(self) -> float:
        return self.clock.now()

    def mark(self, name: str | None = None) -> None:
        if name is None:
            self.meta_dirty = True
        else:
            self.dirty.add(name)

    def log(self, host: str, message: str) -> None:
        """Kernel-style log line (kept in the host's dmesg ring)."""
        ring = self.hosts[host].setdefault("log", [])
        ring.append(
            f"{time.strftime('%b %d %H:%M:%S', time.gmtime(self.now()))} {host} kernel: {message}"
        )
        del ring[:-200]
        self.mark(host)

    def save(self) -> None:
        for name in sorted(self.dirty):
            atomic_write(self.dir / "hosts" / f"{name}.json", json.dumps(self.hosts[name]))
        self.dirty.clear()
        if self.meta_dirty:
            meta = {
                "sim_time": self.now(),
                "last_step": self.last_step,
                "applied": self.applied,
                "applied_seq": self.applied_seq,
            }
            atomic_write(self.dir / "fleet.json", json.dumps(meta))
            self.meta_dirty = False

    def host_faults(self, host: str, kind: str | None = None) -> list[dict]:
        return [f for f in self.faults if f["target"] == host and kind in (None, f["kind"])]

    def cluster_fault(self, cluster: str, kind: str) -> bool:
        return any(f["target"] == cluster and f["kind"] == kind for f in self.faults)

    def is_up(self, host: str) -> bool:
        return self.hosts[host].get("up", True)

    def reachable(self, host: str) -> bool:
        """Whether the host's sshd accepts connections (up, and pf lets management in)."""
        h = self.hosts[host]
        return h.get("up", True) and not h.get("mgmt_cut")
