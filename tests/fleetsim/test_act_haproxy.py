"""Act commands, part 2: HAProxy drain/maint/ready, session decay, the server-state file."""

from __future__ import annotations

import pytest

from fleetsim.testing import running_fleet
from hosts.freebsd import parse

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim
SOCK = "socat stdio /var/run/haproxy.sock"


def api(ssh, line: str) -> tuple[str, str, int]:
    return ssh.run("lba", f"echo '{line}' | {SOCK}")


def servers(ssh) -> dict:
    d = parse("haproxy-stat", api(ssh, "show stat")[0]).to_dict()
    web = next(p for p in d["proxies"] if p["name"] == "web")
    return {s["name"]: s for s in web["servers"]}


def states(ssh) -> dict:
    d = parse("haproxy-servers-state", api(ssh, "show servers state")[0])
    assert d.parse_errors == ()
    return {s["name"]: (s["op_state_name"], s["admin_state"]) for s in d.to_dict()["servers"]}


def test_set_server_state_answers_like_the_runtime_api(fleet, ssh):
    assert api(ssh, "set server web/w1 state drain") == ("\n", "", 0)
    assert api(ssh, "set server nope/w1 state drain") == ("No such backend.\n\n", "", 0)
    assert api(ssh, "set server web/w9 state drain") == ("No such server.\n\n", "", 0)


def test_a_drained_server_keeps_its_sessions_then_they_decay_to_zero(fleet, ssh):
    fleet.advance(1)
    before = servers(ssh)["w1"]["scur"]
    assert before > 0
    api(ssh, "set server web/w1 state drain")
    now = servers(ssh)["w1"]
    assert now["status"] == "DRAIN" and 0 < now["scur"] <= before
    fleet.advance(4)
    midway = servers(ssh)["w1"]["scur"]
    assert midway <= now["scur"]
    fleet.advance(7)  # drain_seconds (10) after the drain began
    w1 = servers(ssh)["w1"]
    assert (w1["status"], w1["scur"], w1["weight"]) == ("DRAIN", 0, 0)
    assert states(ssh)["w1"] == ("RUNNING", 8)
    assert servers(ssh)["w2"]["status"] == "UP"


def test_maint_and_back_to_ready(fleet, ssh):
    api(ssh, "set server web/w2 state maint")
    assert servers(ssh)["w2"]["status"] == "MAINT"
    assert states(ssh)["w2"] == ("STOPPED", 1)
    fleet.advance(11)
    assert servers(ssh)["w2"]["scur"] == 0
    api(ssh, "set server web/w2 state ready")
    w2 = servers(ssh)["w2"]
    assert w2["status"] == "UP" and w2["weight"] == 1
    assert states(ssh)["w2"] == ("RUNNING", 0)


def test_a_reload_keeps_the_admin_state_saved_in_the_state_file(fleet, ssh):
    api(ssh, "set server web/w1 state drain")
    save = f"echo 'show servers state' | {SOCK} > /var/db/haproxy/server-state"
    assert ssh.run("lba", save) == ("", "", 0)
    saved = ssh.run("lba", "cat /var/db/haproxy/server-state")[0]
    assert saved.startswith("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state")
    pid = ssh.run("lba", "service haproxy status")[0]
    assert ssh.run("lba", "service haproxy reload") == ("", "", 0)
    assert ssh.run("lba", "service haproxy status")[0] != pid
    assert states(ssh)["w1"] == ("RUNNING", 8)
    # without the file a reload goes back to what haproxy.conf says
    ssh.run("lba", "rm -f /var/db/haproxy/server-state")
    ssh.run("lba", "service haproxy reload")
    assert states(ssh)["w1"] == ("RUNNING", 0)


def test_admin_state_survives_a_fleetsim_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        api(ssh, "set server web/w2 state maint")
        ssh.close()
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        assert servers(ssh)["w2"]["status"] == "MAINT"
        ssh.close()
