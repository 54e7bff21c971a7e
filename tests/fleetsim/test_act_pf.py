"""Act commands, part 3: pfctl -nf/-f, the daemon(8) dead-man revert, pf-cuts-management."""

from __future__ import annotations

import pytest

from fleetsim.testing import running_fleet

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim
CANDIDATE = "block drop in all\npass out all keep state\n"
BROKEN = "pass in all\nthis is not pf\npass out all\n"
SAVED = "/var/db/nyiops/pf.conf.saved"
PIDFILE = "/var/run/nyiops-pf-revert.pid"
ARM = f"daemon -f -p {PIDFILE} sh -c 'sleep 300; pfctl -f {SAVED}'"


def rules(ssh, host="fwa") -> str:
    return ssh.run(host, "pfctl -sr")[0]


def prepare(ssh, host="fwa") -> str:
    """Save the running ruleset and upload the candidate, as the operations engine does."""
    assert ssh.run(host, f"mkdir -p /var/db/nyiops && cp /etc/pf.conf {SAVED}")[2] == 0
    assert ssh.run(host, "cat > /tmp/candidate.conf", stdin=CANDIDATE)[2] == 0
    return rules(ssh, host)


def test_syntax_check_and_load_print_what_pfctl_prints(fleet, ssh):
    before = prepare(ssh)
    ssh.run("fwa", "cat > /tmp/broken.conf", stdin=BROKEN)
    assert ssh.run("fwa", "pfctl -nf /tmp/broken.conf") == (
        "",
        "/tmp/broken.conf:2: syntax error\n",
        1,
    )
    assert ssh.run("fwa", "pfctl -f /tmp/broken.conf") == (
        "",
        "/tmp/broken.conf:2: syntax error\n"
        "pfctl: Syntax error in config file: pf rules not loaded\n",
        1,
    )
    assert ssh.run("fwa", "pfctl -nf /tmp/none.conf") == (
        "",
        "pfctl: /tmp/none.conf: No such file or directory\n"
        "pfctl: cannot open the main config file!: No such file or directory\n",
        1,
    )
    assert rules(ssh) == before
    assert ssh.run("fwa", "pfctl -nf /tmp/candidate.conf") == ("", "", 0)
    assert rules(ssh) == before  # -n checks only
    assert ssh.run("fwa", "pfctl -f /tmp/candidate.conf") == ("", "", 0)
    assert rules(ssh) == CANDIDATE


def test_the_dead_man_reverts_in_simulated_time(fleet, ssh):
    before = prepare(ssh)
    assert ssh.run("fwa", ARM) == ("", "", 0)
    pid = ssh.run("fwa", f"cat {PIDFILE}")[0].strip()
    assert pid.isdigit() and ssh.run("fwa", f"pgrep -F {PIDFILE}") == (pid + "\n", "", 0)
    assert ssh.run("fwa", ARM) == ("", f"daemon: process already running, pid: {pid}\n", 3)
    ssh.run("fwa", "pfctl -f /tmp/candidate.conf")
    fleet.advance(295)
    assert rules(ssh) == CANDIDATE
    fleet.advance(10)
    assert rules(ssh) == before
    assert ssh.run("fwa", f"test -e {PIDFILE}")[2] == 1  # daemon(8) removed its pidfile
    assert ssh.run("fwa", f"pkill -F {PIDFILE}") == (
        "",
        f"pkill: Cannot open pidfile `{PIDFILE}': No such file or directory\n",
        3,
    )


def test_confirming_cancels_the_revert(fleet, ssh):
    prepare(ssh)
    ssh.run("fwa", ARM)
    ssh.run("fwa", "pfctl -f /tmp/candidate.conf")
    assert ssh.run("fwa", f"pkill -F {PIDFILE}") == ("", "", 0)
    fleet.advance(400)
    assert rules(ssh) == CANDIDATE
    assert ssh.run("fwa", f"pgrep -F {PIDFILE}")[2] == 3


def test_pf_cuts_management_until_the_revert_restores_the_ruleset(fleet, ssh):
    before = prepare(ssh)
    fleet.inject("fwa", "pf-cuts-management")
    ssh.run("fwa", ARM)
    # the load itself answers (pf keeps the states of the session that loaded it)
    assert ssh.run("fwa", "pfctl -f /tmp/candidate.conf") == ("", "", 0)
    ssh.drop("fwa")
    with pytest.raises(OSError):
        ssh.connect("fwa", timeout=3)
    assert ssh.run("fwb", "hostname -s") == ("fwb\n", "", 0)  # only fwa is cut off
    fleet.advance(310)
    assert rules(ssh) == before  # reachable again, the saved ruleset active
    # loading the ruleset that was active when the fault came does not cut
    assert ssh.run("fwa", f"pfctl -f {SAVED}") == ("", "", 0)
    assert ssh.run("fwa", "hostname -s")[0] == "fwa\n"


def test_healing_pf_cuts_management_lets_ssh_in_again(fleet, ssh):
    prepare(ssh)
    fleet.inject("fwa", "pf-cuts-management")
    ssh.run("fwa", "pfctl -f /tmp/candidate.conf")
    ssh.drop("fwa")
    with pytest.raises(OSError):
        ssh.connect("fwa", timeout=3)
    fleet.heal("fwa", "pf-cuts-management")
    assert rules(ssh) == CANDIDATE


def test_a_pending_revert_survives_a_fleetsim_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        before = prepare(ssh)
        ssh.run("fwa", ARM)
        ssh.run("fwa", "pfctl -f /tmp/candidate.conf")
        ssh.close()
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        assert rules(ssh) == CANDIDATE
        fleet.advance(301)
        assert rules(ssh) == before
        ssh.close()


def test_a_cut_off_host_stays_cut_off_across_a_fleetsim_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        before = prepare(ssh)
        fleet.inject("fwa", "pf-cuts-management")
        ssh.run("fwa", ARM)
        ssh.run("fwa", "pfctl -f /tmp/candidate.conf")
        ssh.close()
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        with pytest.raises(OSError):
            ssh.connect("fwa", timeout=3)
        fleet.advance(301)
        assert rules(ssh) == before
        ssh.close()
