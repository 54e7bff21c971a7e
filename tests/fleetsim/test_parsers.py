"""The simulator's output, fetched over SSH, read by nyiops' own parsers: same facts."""

from __future__ import annotations

import pytest

from hosts.freebsd import parse

pytestmark = pytest.mark.sim
SOCAT = "| socat stdio /var/run/haproxy.sock"


def read(ssh, host, command, kind, columns=None):
    out, err, rc = ssh.run(host, command)
    assert rc == 0, err
    result = parse(kind, out, columns) if columns else parse(kind, out)
    assert result.parse_errors == (), (command, result.parse_errors)
    return result.to_dict()


def test_carp_pfsync_sysctl_and_pf(fleet, ssh):
    d = read(ssh, "fwa", "ifconfig -a", "ifconfig")
    igb0 = next(i for i in d["interfaces"] if i["name"] == "igb0")
    assert [(c["vhid"], c["state"], c["advskew"]) for c in igb0["carp"]] == [
        (1, "MASTER", 0),
        (2, "MASTER", 0),
    ]
    assert {a["address"]: a["vhid"] for a in igb0["inet"]} == {
        "198.51.100.2": None,
        "198.51.100.1": 1,
        "198.51.100.10": 2,
    }
    pfsync = next(i for i in d["interfaces"] if i["name"] == "pfsync0")["pfsync"]
    assert (pfsync["syncdev"], pfsync["syncpeer"], pfsync["syncok"]) == ("igb2", "10.255.0.2", 1)
    d = read(ssh, "fwb", "ifconfig igb0", "ifconfig")
    assert [c["state"] for c in d["interfaces"][0]["carp"]] == ["BACKUP", "BACKUP"]
    ssh.run("fwb", "sysctl net.inet.carp.demotion=240")
    d = read(ssh, "fwb", "sysctl net.inet.carp", "sysctl")["values"]
    assert d["net.inet.carp.demotion"] == 240 and d["net.inet.carp.preempt"] == 0
    d = read(ssh, "fwa", "pfctl -si", "pfctl-info")
    assert d["enabled"] and d["state_table"]["current_entries"] > 5000  # a busy firewall


def test_mirror_and_pool_facts_follow_a_disk_failure(fleet, ssh):
    fleet.inject("nas", "disk-fail", "ada1")
    d = read(ssh, "nas", "gmirror status", "gmirror-status")
    assert [
        (m["name"], m["status"], [c["name"] for c in m["components"]]) for m in d["mirrors"]
    ] == [("swap", "DEGRADED", ["ada0p2"])]
    d = read(ssh, "nas", "gmirror list", "gmirror-list")["mirrors"][0]
    assert (d["state"], d["components_count"]) == ("DEGRADED", 2)
    d = read(ssh, "nas", "zpool status -p", "zpool-status")
    zroot = next(p for p in d["pools"] if p["name"] == "zroot")
    devices = {c["name"]: c["state"] for v in zroot["vdevs"] for c in v["children"]}
    assert zroot["state"] == "DEGRADED" and devices == {"ada0p4": "ONLINE", "ada1p4": "FAULTED"}
    cols = ("name", "size", "alloc", "free", "frag", "cap", "health")
    d = read(ssh, "nas", "zpool list -Hp -o " + ",".join(cols), "zpool-list", cols)
    assert {p["name"]: p["health"] for p in d["pools"]} == {"zroot": "DEGRADED", "tank": "ONLINE"}
    fleet.heal("nas")
    d = read(ssh, "nas", "gmirror status", "gmirror-status")["mirrors"][0]
    assert d["components"][1]["state"] == "SYNCHRONIZING"
    fleet.advance(60)
    d = read(ssh, "nas", "gmirror list", "gmirror-list")["mirrors"][0]
    assert d["state"] == "COMPLETE"
    d = read(ssh, "nas", "zpool status -p zroot", "zpool-status")["pools"][0]
    assert d["state"] == "ONLINE" and d["scan"]["kind"] == "resilver"


def test_zfs_snapshots_and_backup_log(fleet, ssh):
    cols = ("name", "creation", "used", "referenced")
    d = read(
        ssh,
        "nas",
        "zfs list -Hp -t snapshot -o name,creation,used,referenced -s creation"
        " -r tank/backups/acme-web",
        "zfs-list",
        cols,
    )
    snaps = d["datasets"]
    assert len(snaps) >= 7 and all(s["kind"] == "snapshot" for s in snaps)
    log = ssh.run("nas", "cat /var/log/nyiops-backup/acme-web.log")[0]
    stats = parse("rsync-stats", log).to_dict()
    assert stats["files_total"] > 0 and stats["error_lines"] == []
    fleet.inject("nas", "backup-fail", "acme-web", "23")
    log = ssh.run("nas", "cat /var/log/nyiops-backup/acme-web.log")[0]
    stats = parse("rsync-stats", log).to_dict()
    assert stats["exit_code"] == 23 and stats["error_lines"]


def test_jails(fleet, ssh):
    d = read(ssh, "web", "jls -v", "jls")
    assert [(j["name"], j["hostname"], j["ipv4"]) for j in d["jails"]] == [
        ("staging", "staging.acme.example", ["198.51.100.20"]),
        ("prod", "www.acme.example", ["198.51.100.21"]),
    ]
    ssh.run("web", "service jail stop staging")
    d = read(ssh, "web", "jls --libxo json", "jls")
    assert [j["hostname"] for j in d["jails"]] == ["www.acme.example"]


def test_haproxy(fleet, ssh):
    fleet.inject("lba", "backend-down", "web/w1")
    fleet.advance(1)
    ssh.run("lba", f'echo "set server web/w2 state drain" {SOCAT}')
    fleet.advance(11)  # a drained server's open sessions finish within drain_seconds
    d = read(ssh, "lba", f'echo "show stat" {SOCAT}', "haproxy-stat")
    web = next(p for p in d["proxies"] if p["name"] == "web")
    assert {s["name"]: (s["status"], s["scur"]) for s in web["servers"]} == {
        "w1": ("DOWN", 0),
        "w2": ("DRAIN", 0),
    }
    assert (
        web["servers"][0]["check_status"] == "L4CON" and web["backend"]["status"] == "UP"
    )  # w2 drains but is up
    d = read(ssh, "lba", f'echo "show servers state" {SOCAT}', "haproxy-servers-state")
    assert {s["name"]: (s["op_state_name"], s["admin_state"]) for s in d["servers"]} == {
        "w1": ("STOPPED", 0),
        "w2": ("RUNNING", 8),
    }
    d = read(ssh, "lba", f'echo "show info" {SOCAT}', "haproxy-info")
    assert d["fields"]["Name"] == "HAProxy"


def test_system(fleet, ssh):
    assert read(ssh, "fwa", "uname -a", "uname")["release"]["major"] == 14
    assert read(ssh, "fwa", "freebsd-version", "freebsd-version")["versions"][0]["patch"] == 5
