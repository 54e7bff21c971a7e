"""Fault kinds: validation, the faults file, and their effect on the state.

``faults.json`` in the state directory is the single channel: ``ctl`` rewrites it (under
a lock, atomically, bumping ``seq``); the server re-reads it when ``seq`` changes and
``reconcile`` applies what was added and heals what was removed. When no server runs,
``ctl`` reconciles the persisted state itself, so the effect is the same.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

from . import backups, dynamics
from .commands import power
from .state import atomic_write, read_json

# kind -> (argument names, whether a cluster target is kept whole instead of per member)
KINDS = {
    "down": ((), False),
    "slow": (("SECONDS",), False),
    "auth-fail": ((), False),
    "hostkey-change": ((), False),
    "garbage": (("CMD",), False),
    "truncate": (("CMD",), False),
    "disk-fail": (("DISK",), False),
    "backend-down": (("BACKEND/SERVER",), False),
    "split-brain": ((), True),
    "pfsync-down": ((), False),
    "backup-fail": (("JOB", "CODE"), False),
    "refuse-master": (("VHID",), False),
    "pf-cuts-management": ((), False),
    "fail-command": (("PATTERN", "[MESSAGE]"), False),
    "hang-command": (("PATTERN",), False),
    "drop-after-command": (("PATTERN",), False),
    "reboot": ((), False),
}
# events rather than conditions: each injection happens once (healing undoes nothing)
ONCE = {"reboot"}
# kinds whose arguments are one pattern (the rest joined) or a pattern and a message
JOINED = {"garbage", "truncate", "hang-command", "drop-after-command"}


class FaultError(ValueError):
    """Unknown target or kind, or bad arguments: nothing was changed."""


def key(f: dict) -> tuple:
    return f["target"], f["kind"], tuple(f["args"]), f.get("id")


@contextmanager
def locked(state_dir: Path):
    with open(state_dir / "faults.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read(state_dir: Path) -> dict:
    return read_json(Path(state_dir) / "faults.json", {"seq": 0, "faults": []})


def write(state_dir: Path, data: dict) -> None:
    atomic_write(Path(state_dir) / "faults.json", json.dumps(data, indent=1))


def disk_matches(disk: str, name: str) -> bool:
    """`ada1` names the disk and its partitions (ada1p2, ada1p4); `ada1p4` just that one."""
    return name == disk or (name.startswith(disk) and name[len(disk) :][:1] in ("p", "s"))


def expand(topo: dict, hosts: dict, target: str, kind: str, args: list[str]) -> list[dict]:
    """Validate one fault request against the topology and the hosts' state."""
    if kind not in KINDS:
        raise FaultError(f"unknown fault kind {kind!r} (kinds: {', '.join(sorted(KINDS))})")
    names = KINDS[kind][0]
    flexible = (kind in JOINED and args) or (kind == "fail-command" and 1 <= len(args) <= 2)
    if len(args) != len(names) and not flexible:
        raise FaultError(f"fault {kind} takes {' '.join(names) or 'no arguments'}, got {args}")
    if kind in JOINED:
        args = [" ".join(args)]
    if kind in ("fail-command", "hang-command", "drop-after-command") and not args[0].strip():
        raise FaultError(f"fault {kind}: PATTERN must not be empty")
    clusters = topo["clusters"]
    if target in clusters:
        members = clusters[target]["members"]
    elif target in hosts:
        members = [target]
    else:
        raise FaultError(f"unknown host or cluster {target!r}")
    if kind == "split-brain":
        if target not in clusters or not clusters[target]["carp"]:
            raise FaultError(f"split-brain needs a cluster with CARP, not {target!r}")
        return [{"target": target, "kind": kind, "args": []}]
    if kind == "slow":
        try:
            if float(args[0]) <= 0:
                raise ValueError
        except ValueError:
            raise FaultError(f"slow: SECONDS must be a positive number, got {args[0]!r}") from None
    for h in members:
        _check_member(topo, hosts[h], kind, args)
    return [{"target": h, "kind": kind, "args": list(args)} for h in members]


def _check_member(topo: dict, host: dict, kind: str, args: list[str]) -> None:
    name = host["name"]
    if kind == "disk-fail":
        devs = [c["disk"] for m in host["mirrors"] for c in m["components"]]
        devs += [d["name"] for p in host["pools"] for v in p["vdevs"] for d in v["devices"]]
        if not any(disk_matches(args[0], d) for d in devs):
            raise FaultError(f"{name}: no gmirror component or pool device {args[0]!r}")
    elif kind == "backend-down":
        hap = host["haproxy"] or {"backends": []}
        pairs = {f"{b['name']}/{s['name']}" for b in hap["backends"] for s in b["servers"]}
        if args[0] not in pairs:
            raise FaultError(f"{name}: no HAProxy server {args[0]!r}")
    elif kind == "refuse-master":
        if args[0] not in {str(e["vhid"]) for e in host["carp"]}:
            raise FaultError(f"{name}: no CARP vhid {args[0]!r}")
    elif kind == "pfsync-down" and not host["pfsync"]:
        raise FaultError(f"{name}: no pfsync")
    elif kind == "backup-fail":
        job = topo["jobs"].get(args[0])
        if job is None or name not in (job["source"], job["target"]):
            raise FaultError(f"{name}: no backup job {args[0]!r} on this host")
        if not args[1].isdigit() or not 1 <= int(args[1]) <= 255:
            raise FaultError(f"backup-fail: CODE must be 1..255, got {args[1]!r}")


def reconcile(fleet) -> bool:
    """Bring the fleet in line with faults.json; True when something changed."""
    data = read(fleet.dir)
    if data["seq"] == fleet.faults_seq:
        return False
    fleet.faults = [f for f in data["faults"]]
    fleet.faults_seq = data["seq"]
    now = fleet.now()
    dynamics.advance(fleet, now)  # effects start from the present, not the last tick
    want = {key(f): f for f in fleet.faults}
    have = {key(f): f for f in fleet.applied}
    for k, f in have.items():
        if k not in want:
            heal_effect(fleet, f, now)
    for k, f in want.items():
        if k not in have:
            apply_effect(fleet, f, now)
    fleet.applied = list(fleet.faults)
    fleet.applied_seq = data["seq"]
    fleet.mark()
    return True


def apply_effect(fleet, f: dict, now: float) -> None:
    kind, target = f["kind"], f["target"]
    if kind == "split-brain" or target not in fleet.hosts:
        return
    host = fleet.hosts[target]
    if kind == "down":
        host["up"] = False
    elif kind == "disk-fail":
        for m in host["mirrors"]:
            for c in m["components"]:
                if disk_matches(f["args"][0], c["disk"]) and c["present"]:
                    c["present"] = False
                    fleet.log(
                        target,
                        f"GEOM_MIRROR: Device {m['name']}: provider {c['disk']} disconnected.",
                    )
        for p in host["pools"]:
            for v in p["vdevs"]:
                for d in v["devices"]:
                    if disk_matches(f["args"][0], d["name"]):
                        d.update(state="FAULTED", read=d["read"] + 3, write=d["write"] + 41)
                        d.pop("note", None)
    elif kind == "backup-fail":
        _run_job_now(fleet, f["args"][0], now)
    elif kind == "pf-cuts-management":
        host["pf"]["cut_saved"] = list(host["pf"]["rules"])
    elif kind == "reboot":
        power.reboot(fleet, target, now)
    fleet.mark(target)


def heal_effect(fleet, f: dict, now: float) -> None:
    kind, target = f["kind"], f["target"]
    if kind == "split-brain" or target not in fleet.hosts:
        return
    host = fleet.hosts[target]
    if kind == "down":
        dynamics.boot(fleet, target, now)
    elif kind == "disk-fail":
        for m in host["mirrors"]:
            for c in m["components"]:
                if disk_matches(f["args"][0], c["disk"]) and not c["present"]:
                    # the disk is back with a stale syncid: gmirror resynchronises it
                    c.update(present=True, state="SYNCHRONIZING", pct=0.0)
        for p in host["pools"]:
            hit = False
            for v in p["vdevs"]:
                for d in v["devices"]:
                    if disk_matches(f["args"][0], d["name"]) and d["state"] == "FAULTED":
                        d.update(state="ONLINE", note="(resilvering)")
                        hit = True
            if hit:
                dynamics.start_resilver(p, now)
    elif kind == "backup-fail":
        _run_job_now(fleet, f["args"][0], now)
    elif kind == "pf-cuts-management":
        host["pf"].pop("cut_saved", None)
        if host.pop("mgmt_cut", False):
            fleet.listeners_dirty = True
    fleet.mark(target)


def _run_job_now(fleet, job_name: str, now: float) -> None:
    """A backup fault shows at once: the job runs now (as if its cron fired)."""
    job = fleet.jobs[job_name]
    host = fleet.hosts[job["target"]]
    code = dynamics.job_exit_code(fleet, job)
    backups.run(host, job, now - 30, now, code)
    fleet.mark(job["target"])
