"""`python -m fleetsim serve` as make demo runs it: banner, ready file, inventory, keys."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fleetsim.server import FleetServer, ServeError, resolve_ports

pytestmark = pytest.mark.sim
REPO = Path(__file__).resolve().parents[2]
HOST_KEYS = [
    "name",
    "address",
    "ssh_port",
    "credential",
    "roles",
    "customer",
    "site",
    "host_key",
    "poll_interval",
]


def serve(state: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetsim",
            "serve",
            "--spec",
            "demo/fleet.yaml",
            "--state",
            str(state),
            "--base-port",
            "0",
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline()


def test_serve_writes_inventory_keys_and_ready(tmp_path):
    state = tmp_path / "state"
    proc, line = serve(state, "--scale", "12")
    try:
        assert line.startswith("fleetsim: serving 32 hosts on 127.0.0.1:") and line.endswith(
            f"; state {state}\n"
        )
        assert (state / "ready").exists()
        mode = stat.S_IMODE((state / "client_key").stat().st_mode)
        assert mode == 0o600
        assert (state / "client_key").read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        inv = yaml.safe_load((state / "inventory.yaml").read_text())
        assert list(inv) == [
            "customers",
            "sites",
            "credentials",
            "hosts",
            "clusters",
            "backup_jobs",
        ]
        assert inv["credentials"] == [
            {"name": "fleetsim-ops", "username": "nyiops", "private_key_file": "client_key"}
        ]
        fw1a = inv["hosts"][0]
        assert list(fw1a) == HOST_KEYS and fw1a["address"] == "127.0.0.1"
        assert (
            fw1a["host_key"].startswith("ssh-ed25519 AAAA") and len(fw1a["host_key"].split()) == 2
        )
        jh1a = next(h for h in inv["hosts"] if h["name"] == "jh1a")
        assert "customer" not in jh1a and jh1a["roles"] == ["jailhost", "dns"]
        ports = json.loads((state / "ports.json").read_text())
        assert {h["name"]: h["ssh_port"] for h in inv["hosts"]} == ports
        assert len(set(ports.values())) == 32
        assert {c["kind"] for c in inv["clusters"]} == {"firewall", "loadbalancer", "jail-service"}
        assert all(
            set(j) == {"name", "source", "target", "dataset", "schedule_minutes", "log_path"}
            for j in inv["backup_jobs"]
        )
        assert len(inv["customers"]) == 5 and {"slug": "nyc1", "name": "New York 1"} in inv["sites"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert not (state / "ready").exists()
    proc, line2 = serve(state, "--scale", "12")  # restart: same ports and host keys
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
    assert line2 == line
    again = yaml.safe_load((state / "inventory.yaml").read_text())
    assert again["hosts"] == inv["hosts"]


def test_malformed_spec_exits_2_naming_entry_and_field(tmp_path):
    spec = yaml.safe_load((REPO / "demo/fleet.yaml").read_text())
    spec["hosts"][1]["interfaces"]["igb0"] = "999.1.1.1/24"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleetsim",
            "serve",
            "--spec",
            str(bad),
            "--state",
            str(tmp_path / "s"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "hosts[1] (fw1b): field 'interfaces.igb0': '999.1.1.1/24' is not an address" in r.stderr


def test_base_port_plus_index_in_spec_order(tmp_path):
    assert resolve_ports(tmp_path, ["a", "b", "c"], 22000) == {"a": 22001, "b": 22002, "c": 22003}


def test_refuses_to_bind_beyond_loopback_or_twice(tmp_path):
    with pytest.raises(ServeError, match="loopback only"):
        FleetServer(REPO / "demo/fleet.yaml", tmp_path / "a", bind="0.0.0.0")
    first = FleetServer(REPO / "demo/fleet.yaml", tmp_path / "b", base_port=0)
    with pytest.raises(ServeError, match="another fleetsim is serving"):
        FleetServer(REPO / "demo/fleet.yaml", tmp_path / "b", base_port=0)
    first.release()
