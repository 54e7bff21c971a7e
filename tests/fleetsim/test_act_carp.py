"""Act commands, part 1: relative CARP demotion through sysctl, takeover, refuse-master."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetsim.testing import running_fleet

from .conftest import Client, carp_states, small_spec

pytestmark = pytest.mark.sim
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def preempting(tmp_path):
    with running_fleet(small_spec(preempt=1), tmp_path / "state") as f:
        c = Client(f)
        yield f, c
        c.close()


def carp(ssh, host):
    return carp_states(ssh.run(host, "ifconfig igb0")[0])


def test_demotion_is_relative_and_printed_as_sysctl_prints_it(fleet, ssh):
    assert ssh.run("fwa", "sysctl net.inet.carp.demotion=240") == (
        "net.inet.carp.demotion: 0 -> 240\n",
        "",
        0,
    )
    assert ssh.run("fwa", "sysctl net.inet.carp.demotion=240")[0] == (
        "net.inet.carp.demotion: 240 -> 480\n"
    )
    assert ssh.run("fwa", "sysctl net.inet.carp.demotion=-480")[0] == (
        "net.inet.carp.demotion: 480 -> 0\n"
    )
    assert ssh.run("fwa", "sysctl -n net.inet.carp.demotion") == ("0\n", "", 0)
    assert ssh.run("fwa", "sysctl net.inet.carp.demotion=lots") == (
        "",
        "sysctl: invalid integer 'lots'\n",
        1,
    )
    assert ssh.run("fwa", "sysctl kern.ostype=Linux") == (
        "",
        "sysctl: oid 'kern.ostype' is read only\n",
        1,
    )
    log = ssh.run("fwa", "cat /var/log/messages")[0]
    assert "carp: demoted by 240 to 240 (sysctl)" in log


def test_without_preempt_a_demoted_master_keeps_its_vhids(fleet, ssh):
    ssh.run("fwa", "sysctl net.inet.carp.demotion=240")
    fleet.advance(10)
    assert carp(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}
    assert carp(ssh, "fwb") == {1: "BACKUP", 2: "BACKUP"}


def test_with_preempt_the_peer_takes_master_at_the_next_advertisement(preempting):
    fleet, ssh = preempting
    ssh.run("fwa", "sysctl net.inet.carp.demotion=240")
    # the kernel advertises at once after a demotion; the peer hears a slower master
    fleet.advance(0.25, step=0.25)
    assert carp(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}
    fleet.advance(2)
    assert carp(ssh, "fwa") == {1: "BACKUP", 2: "BACKUP"}
    log = ssh.run("fwb", "cat /var/log/messages")[0]
    assert "carp: VHID 1@igb0: BACKUP -> MASTER (preempting a slower master)" in log
    assert (
        "carp: VHID 1@igb0: MASTER -> BACKUP (more frequent advertisement received)"
        in (ssh.run("fwa", "cat /var/log/messages")[0])
    )
    # undoing the demotion gives the vhids back (fwa advertises faster again)
    ssh.run("fwa", "sysctl net.inet.carp.demotion=-240")
    fleet.advance(6)
    assert carp(ssh, "fwa") == {1: "MASTER", 2: "MASTER"}


def test_refuse_master_keeps_one_vhid_on_the_demoted_node(preempting):
    fleet, ssh = preempting
    fleet.inject("fwb", "refuse-master", "2")
    ssh.run("fwa", "sysctl net.inet.carp.demotion=240")
    fleet.advance(10)
    assert carp(ssh, "fwb") == {1: "MASTER", 2: "BACKUP"}
    assert carp(ssh, "fwa") == {1: "BACKUP", 2: "MASTER"}
    fleet.heal("fwb", "refuse-master")
    fleet.advance(5)
    assert carp(ssh, "fwb") == {1: "MASTER", 2: "MASTER"}


def test_refuse_master_even_when_the_master_goes_away(preempting):
    fleet, ssh = preempting
    fleet.inject("fwb", "refuse-master", "1")
    fleet.inject("fwa", "down")
    fleet.advance(10)
    assert carp(ssh, "fwb") == {1: "BACKUP", 2: "MASTER"}


def test_refuse_master_bad_arguments_exit_2_and_change_nothing(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state):
        pass
    before = (state / "faults.json").read_text() if (state / "faults.json").exists() else None
    for args, needle in (
        (["fwb", "refuse-master", "7"], "fwb: no CARP vhid '7'"),
        (["fwb", "refuse-master"], "fault refuse-master takes VHID"),
        (["nas", "refuse-master", "1"], "nas: no CARP vhid '1'"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "fleetsim", "ctl", "--state", str(state), "fault", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert r.returncode == 2 and needle in r.stderr, (args, r.stderr)
    after = (state / "faults.json").read_text() if (state / "faults.json").exists() else None
    assert before == after
