"""State model, spec validation and dynamics without any network."""

from __future__ import annotations

import copy
import re

import pytest

from fleetsim import commands, dynamics, faults
from fleetsim.scale import extend
from fleetsim.spec import SpecError, load_spec
from fleetsim.state import Fleet

from .conftest import small_spec


def make(tmp_path, spec=None) -> Fleet:
    fleet = Fleet(load_spec(spec or small_spec()), tmp_path / "state")
    faults.reconcile(fleet)
    return fleet


def set_faults(fleet, *items):
    data = faults.read(fleet.dir)
    faults.write(fleet.dir, {"seq": data["seq"] + 1, "faults": list(items)})
    faults.reconcile(fleet)


def step(fleet, seconds, dt=0.05):
    for _ in range(int(seconds / dt)):
        fleet.clock.skew += dt
        dynamics.advance(fleet, fleet.now())


def vhid_states(fleet, host):
    return [e["state"] for e in fleet.hosts[host]["carp"]]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["hosts"][1].pop("roles"), "hosts[1] (fwb): field 'roles' is required"),
        (
            lambda s: s["hosts"][0].update(roles=["router"]),
            "hosts[0] (fwa): field 'roles': unknown role 'router'",
        ),
        (
            lambda s: s["hosts"][0]["interfaces"].update(igb0="nonsense"),
            "hosts[0] (fwa): field 'interfaces.igb0': 'nonsense' is not an address/prefix",
        ),
        (lambda s: s["hosts"][2].update(name="LB_A"), "hosts[2] (LB_A): field 'name'"),
        (
            lambda s: s["clusters"][0]["carp"]["vhids"][0].update(vhid=300),
            "clusters[0] (fw-pair): field 'carp.vhids': vhid must be 1..255",
        ),
        (
            lambda s: s["clusters"][0]["members"].append({"host": "ghost"}),
            "clusters[0] (fw-pair): field 'members': unknown host",
        ),
        (
            lambda s: s["backup_jobs"][0].update(target="web"),
            "backup_jobs[0] (acme-web): field 'target': 'web' has no storage role",
        ),
        (
            lambda s: s["customers"][0].update(sla_tier="tin"),
            "customers[0] (acme): field 'sla_tier': 'tin' not in",
        ),
    ],
)
def test_malformed_spec_names_entry_and_field(mutate, message):
    spec = small_spec()
    mutate(spec)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert message in str(err.value)


def test_carp_takeover_timing_follows_advertisements(tmp_path):
    fleet = make(tmp_path)
    step(fleet, 2)
    set_faults(fleet, {"target": "fwa", "kind": "down", "args": []})
    t0 = fleet.now()
    for _ in range(200):
        step(fleet, 0.05, 0.05)
        if vhid_states(fleet, "fwb") == ["MASTER", "MASTER"]:
            break
    took = fleet.now() - t0
    # 3 x advbase + advskew/256 after the last advertisement heard (sent <= 1 s before t0)
    assert 3 + 100 / 256 - 1.05 <= took <= 3 + 100 / 256 + 0.05, took


def test_higher_advskew_on_master_fails_over_only_with_preempt(tmp_path):
    for preempt, expect in ((0, "MASTER"), (1, "BACKUP")):
        fleet = make(tmp_path / str(preempt), small_spec(preempt))
        out = commands.run(fleet, "fwa", "ifconfig igb0 vhid 1 advskew 200")
        assert out == ("", "", 0)
        step(fleet, 3)
        assert fleet.hosts["fwa"]["carp"][0]["state"] == expect
        assert fleet.hosts["fwa"]["carp"][1]["state"] == "MASTER"


def test_demotion_is_relative_and_preempting_peer_takes_over(tmp_path):
    fleet = make(tmp_path, small_spec(preempt=1))
    assert (
        commands.run(fleet, "fwa", "sysctl net.inet.carp.demotion=240")[0]
        == "net.inet.carp.demotion: 0 -> 240\n"
    )
    step(fleet, 3)
    assert vhid_states(fleet, "fwb") == ["MASTER", "MASTER"]
    assert (
        commands.run(fleet, "fwa", "sysctl net.inet.carp.demotion=-240")[0]
        == "net.inet.carp.demotion: 240 -> 0\n"
    )
    step(fleet, 3)
    assert vhid_states(fleet, "fwa") == ["MASTER", "MASTER"]


def test_haproxy_fall_and_rise_sequence(tmp_path):
    fleet = make(tmp_path)
    s = fleet.hosts["lba"]["haproxy"]["backends"][0]["servers"][0]
    from fleetsim.commands.haproxy import status

    set_faults(fleet, {"target": "lba", "kind": "backend-down", "args": ["web/w1"]})
    seen = []
    for _ in range(8):
        step(fleet, 0.2, 0.2)
        seen.append(status(s))
    assert seen[:4] == ["UP 2/3", "UP 1/3", "DOWN", "DOWN"]
    set_faults(fleet)
    seen = []
    for _ in range(3):
        step(fleet, 0.2, 0.2)
        seen.append(status(s))
    assert seen == ["DOWN 1/2", "UP", "UP"]


def test_gmirror_operations(tmp_path):
    fleet = make(tmp_path)
    run = lambda cmd: commands.run(fleet, "nas", cmd)  # noqa: E731
    assert run("gmirror remove swap ada1p2") == ("", "", 0)
    assert run("gmirror status")[0] == (
        "       Name    Status  Components\nmirror/swap  COMPLETE  ada0p2 (ACTIVE)\n"
    )
    assert run("gmirror remove swap ada0p2")[2] == 1  # never the last active component
    assert run("gmirror insert swap ada1p2")[2] == 0
    assert "ada1p2 (SYNCHRONIZING, 0%)" in run("gmirror status")[0]
    step(fleet, 11, 0.5)
    assert "COMPLETE" in run("gmirror status")[0]
    set_faults(fleet, {"target": "nas", "kind": "disk-fail", "args": ["ada1"]})
    assert run("gmirror forget swap") == ("", "", 0)
    assert "Components: 1\n" in run("gmirror list")[0]


def test_operations_commands(tmp_path):
    fleet = make(tmp_path)
    run = lambda host, cmd: commands.run(fleet, host, cmd)  # noqa: E731
    assert run("web", "service jail restart prod") == (
        "Stopping jails: prod.\nStarting jails: prod.\n",
        "",
        0,
    )
    # jail(8) needs the path to exist
    assert run(
        "web",
        "mkdir -p /jails/qa && jail -c name=qa host.hostname=qa.acme.example "
        "ip4.addr=198.51.100.22 path=/jails/qa persist",
    ) == ("qa: created\n", "", 0)
    assert "qa.acme.example" in run("web", "jls")[0]
    assert run("web", "jls -N")[0].splitlines()[-1].startswith(" qa              198.51.100.22 ")
    assert (
        "\tinet 198.51.100.22 netmask 0xffffffff broadcast 198.51.100.22\n"
        in run("web", "ifconfig em0")[0]
    )
    assert run("web", "jail -r qa")[0] == "qa: removed\n"
    assert run("web", "jail -r qa")[2] == 1
    fleet.hosts["fwa"]["files"]["/tmp/bad.conf"] = "pass in all\nfrobnicate\n"
    _, err, rc = run("fwa", "pfctl -nf /tmp/bad.conf")
    assert rc == 1 and err.startswith("/tmp/bad.conf:2: syntax error\n")
    fleet.hosts["fwa"]["files"]["/tmp/new.conf"] = 'ext_if = "igb0"\npass in all\n'
    assert run("fwa", "pfctl -f /tmp/new.conf") == ("", "", 0)
    assert run("fwa", "pfctl -sr")[0] == "pass in all\n"
    assert run("fwa", "ifconfig igb0 vhid 1 state backup")[2] == 0
    assert fleet.hosts["fwa"]["carp"][0]["state"] == "BACKUP"
    assert run("nas", "zfs snapshot tank/backups/acme-web@x")[2] == 0
    assert "already exists" in run("nas", "zfs snapshot tank/backups/acme-web@x")[1]


def test_state_file_roundtrip_and_spec_change_rebuilds_only_that_host(tmp_path):
    fleet = make(tmp_path)
    commands.run(fleet, "fwa", "sysctl net.inet.carp.demotion=10")
    commands.run(fleet, "web", "jail -r prod")
    fleet.save()
    spec = small_spec()
    spec["hosts"][3]["jails"][1]["hostname"] = "www2.acme.example"
    again = Fleet(load_spec(spec), tmp_path / "state")
    assert again.hosts["fwa"]["sysctl"]["net.inet.carp.demotion"] == 10
    assert [j["running"] for j in again.hosts["web"]["jails"]] == [True, True]


def test_scale_generates_valid_pairs_mirrors_pools_and_jobs():
    spec = extend(copy.deepcopy(small_spec()), 1000)
    assert len(spec["hosts"]) == 1005
    kinds = [c["kind"] for c in spec["clusters"]]
    assert kinds.count("firewall") == 101 and kinds.count("loadbalancer") == 100
    assert len(spec["backup_jobs"]) == 401
    names = [h["name"] for h in spec["hosts"]]
    assert len(set(names)) == len(names) and all(
        re.match(r"^[a-z0-9][a-z0-9.-]*$", n) for n in names
    )
