"""CARP, pfsync, gmirror/zpool and HAProxy dynamics through real SSH, in real time."""

from __future__ import annotations

import re
import time

import paramiko
import pytest

from fleetsim.testing import running_fleet

from .conftest import Client, carp_states, small_spec, wait

pytestmark = pytest.mark.sim


def states(ssh, host):
    return carp_states(ssh.run(host, "ifconfig igb0")[0])


def refused(ssh, host) -> bool:
    ssh.drop(host)
    try:
        ssh.connect(host, timeout=2).close()
    except (paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError):
        return True
    return False


def test_master_down_backup_takes_over_then_returns_as_backup(fleet, ssh):
    assert states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}
    t0 = time.monotonic()
    fleet.inject("fwa", "down")
    assert refused(ssh, "fwa")
    assert wait(lambda: states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}, 6, 0.05)
    took = time.monotonic() - t0
    assert 2.0 < took <= 3 * 1 + 1 + 0.5, took  # ~3 missed advertisements (advbase 1)
    fleet.heal("fwa")
    out, _, _ = ssh.run("fwa", "ifconfig -a; sysctl -n net.inet.carp.demotion")
    assert carp_states(out) == {1: "BACKUP", 2: "BACKUP"}
    assert out.endswith("240\n") and "\tsyncok: 0\n" in out  # bulk update pending
    assert wait(lambda: ssh.run("fwa", "sysctl -n net.inet.carp.demotion")[0] == "0\n", 4)
    assert "\tsyncok: 1\n" in ssh.run("fwa", "ifconfig pfsync0")[0]
    time.sleep(1.5)  # preempt is off: the returning node stays BACKUP
    assert states(ssh, "fwa") == {1: "BACKUP", 2: "BACKUP"}
    assert states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}
    assert "BACKUP -> MASTER (master down)" in ssh.run("fwb", "cat /var/log/messages")[0]


def test_with_preempt_old_master_takes_over_after_bulk_update(tmp_path):
    with running_fleet(small_spec(preempt=1), tmp_path / "s") as fleet:
        ssh = Client(fleet)
        fleet.inject("fwa", "down")
        assert wait(lambda: states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}, 6, 0.1)
        fleet.heal("fwa")
        assert states(ssh, "fwa") == {1: "BACKUP", 2: "BACKUP"}  # demoted during the bulk
        assert wait(lambda: states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}, 5, 0.1)
        assert states(ssh, "fwb") == {1: "BACKUP", 2: "BACKUP"}
        log = ssh.run("fwa", "cat /var/log/messages")[0]
        assert log.index("pfsync: received bulk update end") < log.index(
            "BACKUP -> MASTER (preempting a slower master)"
        )
        ssh.close()


def test_split_brain_both_masters_then_heals(fleet, ssh):
    fleet.inject("fw-pair", "split-brain")
    assert wait(lambda: states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}, 6, 0.1)
    assert states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}
    fleet.heal("fw-pair")
    assert wait(lambda: states(ssh, "fwb") == {1: "BACKUP", 2: "BACKUP"}, 3, 0.1)
    assert states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}


def test_disk_failure_and_rebuild_to_complete(fleet, ssh):
    fleet.inject("nas", "disk-fail", "ada1")
    out, _, _ = ssh.run("nas", "gmirror status; zpool status -p zroot")
    assert "mirror/swap  DEGRADED  ada0p2 (ACTIVE)\n" in out and "ada1p2" not in out
    assert " state: DEGRADED\n" in out
    assert re.search(r"\t    ada1p4  FAULTED +\d+ +\d+ +0  too many errors\n", out)
    assert "Components: 2" in ssh.run("nas", "gmirror list swap")[0]
    fleet.heal("nas", "disk-fail")
    out = ssh.run("nas", "gmirror status -s; zpool status zroot")[0]
    assert re.search(r"mirror/swap  DEGRADED  ada1p2 \(SYNCHRONIZING, \d+%\)", out)
    assert "resilver in progress" in out and "(resilvering)" in out
    fleet.advance(60)
    out = ssh.run("nas", "gmirror status; zpool status -p zroot")[0]
    assert "mirror/swap  COMPLETE  ada0p2 (ACTIVE)\n" in out and "ada1p2 (ACTIVE)" in out
    assert " state: ONLINE\n" in out and "  scan: resilvered " in out


def test_backend_goes_down_after_fall_checks_and_up_after_rise(fleet, ssh):
    def w1():
        out = ssh.run("lba", 'echo "show stat" | socat stdio /var/run/haproxy.sock')[0]
        row = next(r.split(",") for r in out.splitlines() if r.startswith("web,w1,"))
        return row[17], int(row[21]), row[36]

    assert w1() == ("UP", 0, "L7OK")
    fleet.inject("lba", "backend-down", "web/w1")
    assert wait(lambda: w1()[0] == "DOWN", 3, 0.05)
    _, chkfail, check = w1()
    assert chkfail >= 3 and check == "L4CON"  # fall 3: three failed checks
    fleet.heal("lba")
    assert wait(lambda: w1()[0] == "UP", 3, 0.05)


def test_pfsync_down_states_diverge(fleet, ssh):
    def entries(host):
        out = ssh.run(host, "pfctl -si")[0]
        return int(re.search(r"current entries\s+(\d+)", out).group(1))

    def diff():
        a, b = entries("fwa"), entries("fwb")
        return abs(a - b) / max(a, b)

    assert diff() < 0.01  # in sync: the same table (give or take a second of traffic)
    fleet.inject("fw-pair", "pfsync-down")
    out = ssh.run("fwa", "ifconfig pfsync0")[0]
    assert out.startswith("pfsync0: flags=0<> ") and "\tsyncok: 0\n" in out
    assert diff() > 0.05
    fleet.heal("fw-pair", "pfsync-down")
    assert diff() < 0.01
