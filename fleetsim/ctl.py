"""Control API: inject and heal faults, report status, run one command offline.

Works with or without a running server: the faults file is always rewritten; when no
server holds ``server.lock`` the persisted state is reconciled here, so the effect on the
state (a failed disk, a host that rebooted) is the same either way.
"""

from __future__ import annotations

import fcntl
import json
import time
from contextlib import contextmanager
from pathlib import Path

from . import commands, dynamics, faults
from .commands.storage import mirror_state, pool_health
from .faults import FaultError
from .state import Fleet, read_json

MULTI = {
    "garbage",
    "truncate",
    "disk-fail",
    "backend-down",
    "backup-fail",
    "refuse-master",
    "fail-command",
    "hang-command",
    "drop-after-command",
}


def _spec(state_dir: Path) -> dict:
    spec = read_json(state_dir / "spec.json", None)
    if spec is None:
        raise FaultError(f"no fleet in {state_dir} (start `python -m fleetsim serve` once)")
    return spec


def _topology(spec: dict) -> dict:
    return {
        "clusters": {
            c["name"]: {"members": [m["host"] for m in c["members"]], "carp": bool(c.get("carp"))}
            for c in spec["clusters"]
        },
        "jobs": {j["name"]: j for j in spec["backup_jobs"]},
    }


def _hosts(state_dir: Path, spec: dict, names: list[str] | None = None) -> dict:
    """The hosts' saved state (all of them, or `names`): a fault reads only those it names,
    so that injecting one at 1,000 hosts does not read 1,000 files first."""
    wanted = [h["name"] for h in spec["hosts"]] if names is None else names
    out = {name: read_json(state_dir / "hosts" / f"{name}.json", None) for name in wanted}
    if any(v is None for v in out.values()):
        fleet = Fleet(spec, state_dir)
        out = {n: v or fleet.hosts[n] for n, v in out.items()}
    return out


def _named(spec: dict, topo: dict, target: str) -> list[str]:
    """The hosts a fault on `target` (a cluster or a host) concerns; [] for neither."""
    if target in topo["clusters"]:
        return list(topo["clusters"][target]["members"])
    return [target] if any(h["name"] == target for h in spec["hosts"]) else []


@contextmanager
def offline(state_dir: Path):
    """Yield True (holding server.lock) when no server runs, else False."""
    with open(state_dir / "server.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _same(a: dict, b: dict) -> bool:
    if (a["target"], a["kind"]) != (b["target"], b["kind"]):
        return False
    return a["kind"] not in MULTI or a["args"][:1] == b["args"][:1]


def _commit(state_dir: Path, spec: dict, data: dict, wait: float) -> int:
    data["seq"] += 1
    faults.write(state_dir, data)
    with offline(state_dir) as alone:
        if alone:
            fleet = Fleet(spec, state_dir)
            faults.reconcile(fleet)
            fleet.save()
            return data["seq"]
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:  # the server applies it on its next tick
        if read_json(state_dir / "fleet.json", {}).get("applied_seq", -1) >= data["seq"]:
            break
        time.sleep(0.05)
    return data["seq"]


def inject_fault(state_dir, target: str, kind: str, *args: str, wait: float = 3.0) -> int:
    """Add a fault; returns the faults sequence number. Raises FaultError (nothing changed)."""
    state_dir = Path(state_dir)
    spec = _spec(state_dir)
    topo = _topology(spec)
    hosts = _hosts(state_dir, spec, _named(spec, topo, target))
    new = faults.expand(topo, hosts, target, kind, [str(a) for a in args])
    with faults.locked(state_dir):
        data = faults.read(state_dir)
        for f in new:
            if kind in faults.ONCE:
                f["id"] = data["seq"] + 1  # each injection is a new event
        data["faults"] = [f for f in data["faults"] if not any(_same(f, n) for n in new)] + new
        return _commit(state_dir, spec, data, wait)


def heal(state_dir, target: str, kind: str | None = None, wait: float = 3.0) -> int:
    """Remove the faults of a host or cluster (of one kind, or all)."""
    state_dir = Path(state_dir)
    spec = _spec(state_dir)
    topo = _topology(spec)
    if kind is not None and kind not in faults.KINDS:
        raise FaultError(f"unknown fault kind {kind!r} (kinds: {', '.join(sorted(faults.KINDS))})")
    names = {h["name"] for h in spec["hosts"]}
    if target in topo["clusters"]:
        targets = {target, *topo["clusters"][target]["members"]}
    elif target in names:
        targets = {target}
    else:
        raise FaultError(f"unknown host or cluster {target!r}")
    with faults.locked(state_dir):
        data = faults.read(state_dir)
        data["faults"] = [
            f for f in data["faults"] if not (f["target"] in targets and kind in (None, f["kind"]))
        ]
        return _commit(state_dir, spec, data, wait)


def status(state_dir) -> dict:
    state_dir = Path(state_dir)
    spec = _spec(state_dir)
    with offline(state_dir) as alone:
        running = not alone
    ports = read_json(state_dir / "ports.json", {})
    hosts = {}
    for name, h in _hosts(state_dir, spec).items():
        hosts[name] = {
            "port": ports.get(name),
            "up": h.get("up", True),
            "reachable": h.get("up", True) and not h.get("mgmt_cut"),
            "roles": h["roles"],
            "carp": {str(e["vhid"]): e["state"] for e in h["carp"]},
            "demotion": h["sysctl"]["net.inet.carp.demotion"],
            "mirrors": {m["name"]: mirror_state(m) for m in h["mirrors"]},
            "pools": {p["name"]: pool_health(p) for p in h["pools"]},
            "jails": {j["name"]: bool(j["running"]) for j in h["jails"]},
            "procs": [{"pid": p["pid"], "argv": p["argv"]} for p in h.get("procs", [])],
        }
    meta = read_json(state_dir / "fleet.json", {})
    return {
        "running": running,
        "state_dir": str(state_dir),
        "sim_time": meta.get("sim_time"),
        "faults": faults.read(state_dir)["faults"],
        "hosts": hosts,
    }


def exec_command(state_dir, host: str, command: str, stdin: str = "") -> tuple[str, str, int]:
    """Run one exec string against the persisted state (sshd ForceCommand uses this).
    With a server running the state is read but not written (the server owns it)."""
    state_dir = Path(state_dir)
    spec = _spec(state_dir)
    if host not in {h["name"] for h in spec["hosts"]}:
        raise FaultError(f"unknown host {host!r}")
    # concurrent execs (one sshd child per session) take turns, so none loses another's write
    with open(state_dir / "exec.lock", "a") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        with offline(state_dir) as alone:
            fleet = Fleet(spec, state_dir)
            faults.reconcile(fleet)
            dynamics.advance(fleet, fleet.now())
            result = commands.run(fleet, host, command, stdin)
            if alone:
                fleet.save()
    return result


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
