"""CARP, pfsync, gmirror/zpool and HAProxy dynamics through real SSH, on simulated time.

The fleet runs with its clock stopped (time_scale=0): simulated time moves only when a test
calls `fleet.advance(seconds)`, which steps the dynamics in small increments. So "B takes
over after about three missed advertisements" and "the returning node stays BACKUP" are
statements about simulated seconds, true however slow the machine is: no wall-clock window,
and no sleeping to show that something does not happen (the dynamics for that span have run
when advance() returns)."""

from __future__ import annotations

import re

import paramiko
import pytest

from fleetsim.testing import running_fleet

from .conftest import Client, carp_states, small_spec

pytestmark = pytest.mark.sim
STEP = 0.05  # simulated seconds per dynamics step: finer than advbase/256 effects need


@pytest.fixture
def fleet(tmp_path):
    with running_fleet(small_spec(), tmp_path / "state", time_scale=0) as f:
        yield f


@pytest.fixture
def ssh(fleet):
    c = Client(fleet)
    yield c
    c.close()


def advance(fleet, seconds: float) -> None:
    fleet.advance(seconds, step=STEP)


def states(ssh, host):
    return carp_states(ssh.run(host, "ifconfig igb0")[0])


def refused(ssh, host) -> bool:
    ssh.drop(host)
    try:
        ssh.connect(host, timeout=30).close()
    except (paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError):
        return True
    return False


def test_master_down_backup_takes_over_then_returns_as_backup(fleet, ssh):
    assert states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}
    fleet.inject("fwa", "down")
    assert refused(ssh, "fwa")

    # carp(4): a BACKUP declares the master down 3 * advbase + advskew/256 s after the last
    # advertisement it heard (advbase 1 here): not after 2 s, by 3 s + one advertisement.
    advance(fleet, 2.0)
    assert states(ssh, "fwb") == {1: "BACKUP", 2: "BACKUP"}
    advance(fleet, 2.0)
    assert states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}

    fleet.heal("fwa")
    out, _, _ = ssh.run("fwa", "ifconfig -a; sysctl -n net.inet.carp.demotion")
    assert carp_states(out) == {1: "BACKUP", 2: "BACKUP"}
    assert out.endswith("240\n") and "\tsyncok: 0\n" in out  # bulk update pending
    advance(fleet, 2.5)  # pfsync bulk_seconds 2.0
    assert ssh.run("fwa", "sysctl -n net.inet.carp.demotion")[0] == "0\n"
    assert "\tsyncok: 1\n" in ssh.run("fwa", "ifconfig pfsync0")[0]

    advance(fleet, 10.0)  # preempt is off: the returning node stays BACKUP
    assert states(ssh, "fwa") == {1: "BACKUP", 2: "BACKUP"}
    assert states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}
    assert "BACKUP -> MASTER (master down)" in ssh.run("fwb", "cat /var/log/messages")[0]


def test_with_preempt_old_master_takes_over_after_bulk_update(tmp_path):
    with running_fleet(small_spec(preempt=1), tmp_path / "s", time_scale=0) as fleet:
        ssh = Client(fleet)
        fleet.inject("fwa", "down")
        advance(fleet, 4.0)
        assert states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}
        fleet.heal("fwa")
        advance(fleet, 1.0)
        assert states(ssh, "fwa") == {1: "BACKUP", 2: "BACKUP"}  # demoted during the bulk
        advance(fleet, 3.0)
        assert states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}
        assert states(ssh, "fwb") == {1: "BACKUP", 2: "BACKUP"}
        log = ssh.run("fwa", "cat /var/log/messages")[0]
        assert log.index("pfsync: received bulk update end") < log.index(
            "BACKUP -> MASTER (preempting a slower master)"
        )
        ssh.close()


def test_split_brain_both_masters_then_heals(fleet, ssh):
    fleet.inject("fw-pair", "split-brain")
    advance(fleet, 4.0)
    assert states(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}
    assert states(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}
    fleet.heal("fw-pair")
    advance(fleet, 2.0)
    assert states(ssh, "fwb") == {1: "BACKUP", 2: "BACKUP"}
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
    advance(fleet, 0.3)  # inter 0.2 s: fewer failed checks than fall 3
    assert w1()[0].startswith("UP ")  # HAProxy's "UP 2/3": still up, going down
    advance(fleet, 1.0)
    status, chkfail, check = w1()
    assert status == "DOWN" and chkfail >= 3 and check == "L4CON"
    fleet.heal("lba")
    advance(fleet, 1.0)
    assert w1()[0] == "UP"


def test_pfsync_down_states_diverge(fleet, ssh):
    def entries(host):
        out = ssh.run(host, "pfctl -si")[0]
        return int(re.search(r"current entries\s+(\d+)", out).group(1))

    def diff():
        a, b = entries("fwa"), entries("fwb")
        return abs(a - b) / max(a, b)

    assert diff() < 0.01  # in sync: the same table
    fleet.inject("fw-pair", "pfsync-down")
    out = ssh.run("fwa", "ifconfig pfsync0")[0]
    assert out.startswith("pfsync0: flags=0<> ") and "\tsyncok: 0\n" in out
    assert diff() > 0.05
    fleet.heal("fw-pair", "pfsync-down")
    assert diff() < 0.01
