"""Act faults, part 7: hang-command, drop-after-command, reboot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import carp_states

pytestmark = pytest.mark.sim
REPO = Path(__file__).resolve().parents[2]
SNAP = "zfs snapshot tank/backups/acme-web@hang"
HAS_SNAP = "zfs list -H -o name tank/backups/acme-web@hang"


def test_hang_command_ends_only_by_the_wrapping_timeout(fleet, ssh):
    fleet.inject("nas", "hang-command", "zfs snapshot")
    out, _, rc = ssh.run("nas", f"timeout -k 5 1 sh -c 'echo before; {SNAP}; echo after'")
    assert (out, rc) == ("before\n", 124)  # timeout(1)'s status; nothing after ran
    assert ssh.run("nas", HAS_SNAP)[2] == 1
    with pytest.raises(TimeoutError):  # not wrapped: it never answers
        ssh.run("nas", SNAP, timeout=1)
    ssh.drop("nas")
    assert ssh.run("nas", "zfs list -H -o name tank")[0] == "tank\n"  # other commands answer
    fleet.heal("nas", "hang-command")
    assert ssh.run("nas", SNAP) == ("", "", 0)


def test_drop_after_command_runs_it_then_drops_the_connection(fleet, ssh):
    fleet.inject("fwb", "drop-after-command", "sysctl net.inet.carp.demotion=*")
    out, err, rc = ssh.run("fwb", "sysctl net.inet.carp.demotion=240")
    assert (out, err, rc) == ("", "", -1)  # no answer, no exit status
    ssh.drop("fwb")
    assert ssh.run("fwb", "sysctl -n net.inet.carp.demotion") == ("240\n", "", 0)
    assert ssh.run("fwb", "sysctl -n net.inet.carp.preempt") == ("0\n", "", 0)  # no match


def test_reboot_resets_sysctls_reapplies_sysctl_conf_local_and_renegotiates_carp(fleet, ssh):
    ssh.run("fwa", "cat > /etc/sysctl.conf.local", stdin="net.inet.carp.demotion=240\n")
    ssh.run("fwa", "sysctl net.inet.carp.demotion=240; sysctl net.inet.carp.preempt=1")
    ssh.run("fwa", "daemon -p /var/run/x.pid sh -c 'sleep 600; echo late'")
    fleet.inject("fwa", "reboot")
    with pytest.raises(Exception):  # noqa: B017 - paramiko raises several kinds here
        ssh.run("fwa", "true")
    ssh.drop("fwa")
    with pytest.raises(OSError):
        ssh.connect("fwa", timeout=3)
    fleet.advance(10)
    assert carp_states(ssh.run("fwb", "ifconfig igb0")[0]) == {1: "MASTER", 2: "MASTER"}
    fleet.advance(25)  # boot_seconds (30) have passed
    assert ssh.run("fwa", "sysctl -n net.inet.carp.preempt") == ("0\n", "", 0)  # built value
    fleet.advance(5)  # pfsync's bulk update (2 s) is over
    assert ssh.run("fwa", "sysctl -n net.inet.carp.demotion") == ("240\n", "", 0)
    assert carp_states(ssh.run("fwa", "ifconfig igb0")[0]) == {1: "BACKUP", 2: "BACKUP"}
    assert ssh.run("fwa", "test -e /var/run/x.pid")[2] == 1  # processes did not survive
    assert "0 mins," in ssh.run("fwa", "uptime")[0] or " sec" in ssh.run("fwa", "uptime")[0]
    log = ssh.run("fwa", "cat /var/log/messages")[0]
    assert "Uptime: rebooting" in log and "carp: demoted by 240 to 240 (sysctl)" in log


def ctl_cli(state_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fleetsim", "ctl", "--state", str(state_dir), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_reboot_from_the_command_line_and_each_injection_reboots_again(fleet, ssh):
    assert ssh.run("web", "shutdown -r now") == ("", "", 0)
    ssh.drop("web")
    fleet.advance(31)
    assert ssh.run("web", "hostname -s")[0] == "web\n"
    for _ in range(2):
        r = ctl_cli(fleet.state_dir, "fault", "web", "reboot")
        assert r.returncode == 0, r.stderr
        status = json.loads(ctl_cli(fleet.state_dir, "status").stdout)
        assert status["hosts"]["web"]["up"] is False
        fleet.advance(31)
        ssh.drop("web")
        assert ssh.run("web", "hostname -s")[0] == "web\n"
    r = ctl_cli(fleet.state_dir, "fault", "web", "reboot", "now")
    assert r.returncode == 2 and "fault reboot takes no arguments" in r.stderr


def test_command_fault_patterns_are_checked(fleet):
    from fleetsim import ctl
    from fleetsim.faults import FaultError

    with pytest.raises(FaultError, match="PATTERN must not be empty"):
        ctl.inject_fault(fleet.state_dir, "fwa", "hang-command", " ")
    with pytest.raises(FaultError, match="takes PATTERN"):
        ctl.inject_fault(fleet.state_dir, "fwa", "fail-command")


def test_new_fault_kinds_refuse_bad_arguments_from_the_cli_and_change_nothing(fleet):
    path = fleet.state_dir / "faults.json"
    before = path.read_text() if path.exists() else None
    for args, needle in (
        (["fwa", "pf-cuts-management", "x"], "fault pf-cuts-management takes no arguments"),
        (["fwa", "fail-command"], "fault fail-command takes PATTERN [MESSAGE]"),
        (["fwa", "fail-command", "a", "b", "c"], "fault fail-command takes PATTERN [MESSAGE]"),
        (["fwa", "hang-command"], "fault hang-command takes PATTERN"),
        (["fwa", "drop-after-command"], "fault drop-after-command takes PATTERN"),
        (["ghost", "reboot"], "unknown host or cluster 'ghost'"),
    ):
        r = ctl_cli(fleet.state_dir, "fault", *args)
        assert r.returncode == 2 and needle in r.stderr, (args, r.stderr)
    after = path.read_text() if path.exists() else None
    assert before == after


def test_a_reboot_brings_advskew_back_to_rc_conf(fleet, ssh):
    def advskews():
        out = ssh.run("fwb", "ifconfig igb0")[0]
        return [int(x) for x in __import__("re").findall(r"advskew (\d+)", out)]

    assert ssh.run("fwb", "ifconfig igb0 vhid 1 advskew 200") == ("", "", 0)
    assert advskews() == [200, 100]
    fleet.inject("fwb", "reboot")
    fleet.advance(31)
    ssh.drop("fwb")
    assert advskews() == [100, 100]  # the runtime change is gone
    rc = 'ifconfig_igb0_alias0="inet vhid 2 advskew 50 pass s3cret alias 198.51.100.10/26"\n'
    ssh.run("fwb", "cat > /etc/rc.conf", stdin=rc)
    fleet.inject("fwb", "reboot")
    fleet.advance(31)
    ssh.drop("fwb")
    assert advskews() == [100, 50]
