"""Export `inventory.yaml` in exactly the shape `manage.py import_inventory` reads."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .state import atomic_write

CREDENTIAL = "fleetsim-ops"


def build(spec: dict, ports: dict[str, int], host_keys: dict[str, str], address: str) -> dict:
    hosts = []
    for h in spec["hosts"]:
        entry = {
            "name": h["name"],
            "address": address,
            "ssh_port": ports[h["name"]],
            "credential": CREDENTIAL,
            "roles": list(h["roles"]),
        }
        if h.get("customer"):
            entry["customer"] = h["customer"]
        if h.get("site"):
            entry["site"] = h["site"]
        entry["host_key"] = host_keys[h["name"]]
        entry["poll_interval"] = int(h["poll_interval"])
        hosts.append(entry)
    clusters = []
    for c in spec["clusters"]:
        entry = {"name": c["name"], "kind": c["kind"]}
        if c.get("customer"):
            entry["customer"] = c["customer"]
        entry["members"] = [{"host": m["host"], "role": m["role"]} for m in c["members"]]
        clusters.append(entry)
    return {
        "customers": [
            {
                "slug": c["slug"],
                "name": c["name"],
                "sla_tier": c["sla_tier"],
                "contacts": c["contacts"],
                "ip_ranges": c["ip_ranges"],
            }
            for c in spec["customers"]
        ],
        "sites": [{"slug": s["slug"], "name": s["name"]} for s in spec["sites"]],
        "credentials": [
            {"name": CREDENTIAL, "username": "nyiops", "private_key_file": "client_key"}
        ],
        "hosts": hosts,
        "clusters": clusters,
        "backup_jobs": [
            {
                "name": j["name"],
                "source": j["source"],
                "target": j["target"],
                "dataset": j["dataset"],
                "schedule_minutes": j["schedule_minutes"],
                "log_path": j["log_path"],
            }
            for j in spec["backup_jobs"]
        ],
    }


def write(state_dir: Path, inv: dict) -> Path:
    path = Path(state_dir) / "inventory.yaml"
    atomic_write(path, yaml.safe_dump(inv, sort_keys=False, default_flow_style=False))
    return path


def write_topology(state_dir: Path, spec: dict) -> None:
    """What `ctl` needs to validate targets without the server: spec as served."""
    atomic_write(Path(state_dir) / "spec.json", json.dumps(spec))
