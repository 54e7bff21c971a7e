"""Fixtures for fleetsim: a small fleet spec and an SSH client helper (paramiko)."""

from __future__ import annotations

import copy
import socket
import time

import paramiko
import pytest

from fleetsim.testing import running_fleet

SMALL = {
    "defaults": {"domain": "test.example"},
    "customers": [
        {"slug": "acme", "name": "Acme", "sla_tier": "gold", "ip_ranges": ["198.51.100.0/26"]}
    ],
    "sites": [{"slug": "nyc1", "name": "New York 1"}],
    "hosts": [
        {
            "name": "fwa",
            "roles": ["firewall"],
            "customer": "acme",
            "site": "nyc1",
            "interfaces": {"igb0": "198.51.100.2/26", "igb2": "10.255.0.1/30"},
        },
        {
            "name": "fwb",
            "roles": ["firewall"],
            "customer": "acme",
            "site": "nyc1",
            "interfaces": {"igb0": "198.51.100.3/26", "igb2": "10.255.0.2/30"},
        },
        {
            "name": "lba",
            "roles": ["loadbalancer"],
            "site": "nyc1",
            "interfaces": {"em0": "10.0.0.10/24"},
            "haproxy": {
                "inter": 0.2,
                "frontends": [{"name": "www"}],
                "backends": [
                    {
                        "name": "web",
                        "servers": [
                            {"name": "w1", "addr": "10.0.0.21:80"},
                            {"name": "w2", "addr": "10.0.0.22:80"},
                        ],
                    }
                ],
            },
        },
        {
            "name": "web",
            "roles": ["web", "jailhost"],
            "customer": "acme",
            "interfaces": {"em0": "10.0.0.21/24"},
            "jails": [
                {"name": "staging", "hostname": "staging.acme.example", "ip4": "198.51.100.20/32"},
                {"name": "prod", "hostname": "www.acme.example", "ip4": "198.51.100.21/32"},
            ],
        },
        {
            "name": "nas",
            "roles": ["storage"],
            "interfaces": {"igb0": "10.0.0.30/24"},
            "disks": ["ada0", "ada1", "da0", "da1", "da2", "da3"],
            "pools": [
                {"name": "zroot", "vdevs": [{"type": "mirror", "devices": ["ada0p4", "ada1p4"]}]},
                {
                    "name": "tank",
                    "size_gb": 8000,
                    "resilver_pct_per_s": 10,
                    "vdevs": [{"type": "raidz2", "devices": ["da0p2", "da1p2", "da2p2", "da3p2"]}],
                },
            ],
            "mirrors": [
                {"name": "swap", "components": ["ada0p2", "ada1p2"], "rebuild_pct_per_s": 10}
            ],
        },
    ],
    "clusters": [
        {
            "name": "fw-pair",
            "kind": "firewall",
            "customer": "acme",
            "members": [{"host": "fwa", "role": "primary"}, {"host": "fwb", "role": "backup"}],
            "carp": {
                "advbase": 1,
                "preempt": 0,
                "vhids": [
                    {"vhid": 1, "interface": "igb0", "vip": "198.51.100.1/26"},
                    {"vhid": 2, "interface": "igb0", "vip": "198.51.100.10/26"},
                ],
            },
            "pfsync": {"syncdev": "igb2", "bulk_seconds": 2.0},
        }
    ],
    "backup_jobs": [
        {"name": "acme-web", "source": "web", "target": "nas", "dataset": "tank/backups/acme-web"}
    ],
}


def small_spec(preempt: int = 0) -> dict:
    spec = copy.deepcopy(SMALL)
    spec["clusters"][0]["carp"]["preempt"] = preempt
    return spec


@pytest.fixture
def fleet(tmp_path):
    with running_fleet(small_spec(), tmp_path / "state") as f:
        yield f


class Client:
    """One pinned-host-key paramiko connection per host, TCP_NODELAY as nyiops does."""

    def __init__(self, fleet):
        self.fleet = fleet
        self.key = paramiko.Ed25519Key.from_private_key_file(str(fleet.client_key_path))
        self.conns: dict[str, paramiko.SSHClient] = {}

    def connect(self, host: str, timeout: float = 20.0) -> paramiko.SSHClient:
        info = self.fleet.hosts[host]
        c = paramiko.SSHClient()
        kind, b64 = info.host_key.split()
        pinned = paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(b64))
        c.get_host_keys().add(f"[127.0.0.1]:{info.port}", kind, pinned)
        c.set_missing_host_key_policy(paramiko.RejectPolicy())
        c.connect(
            "127.0.0.1",
            port=info.port,
            username="nyiops",
            pkey=self.key,
            allow_agent=False,
            look_for_keys=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
        c.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def run(
        self, host: str, command: str, timeout: float = 10.0, stdin: str | None = None
    ) -> tuple[str, str, int]:
        """Run one command; ``stdin`` is sent and then closed (EOF), as `ssh host cmd < f`."""
        c = self.conns.get(host)
        if c is None or not c.get_transport() or not c.get_transport().is_active():
            c = self.conns[host] = self.connect(host)
        i, o, e = c.exec_command(command, timeout=timeout)
        if stdin is not None:
            i.write(stdin)
            i.flush()
            i.channel.shutdown_write()
        out, err = o.read().decode(), e.read().decode()
        return out, err, o.channel.recv_exit_status()

    def drop(self, host: str) -> None:
        c = self.conns.pop(host, None)
        if c is not None:
            c.close()

    def close(self):
        for c in self.conns.values():
            c.close()


@pytest.fixture
def ssh(fleet):
    c = Client(fleet)
    yield c
    c.close()


def carp_states(text: str) -> dict[int, str]:
    import re

    return {int(v): s for s, v in re.findall(r"carp: (\w+) vhid (\d+)", text)}


def wait(pred, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    return pred()
