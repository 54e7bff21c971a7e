"""Act commands, part 4: jails from /etc/jail.conf.d, zfs create/clone/snapshot/destroy/set,
and the fail-command fault (E7's step failures)."""

from __future__ import annotations

import pytest

from fleetsim.spec import SpecError, load_spec
from fleetsim.testing import running_fleet
from hosts.freebsd import parse

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim
CONF = (
    "new {\n"
    '\thost.hostname = "new.acme.example";\n'
    '\tpath = "/usr/local/jails/new";\n'
    '\tip4.addr = "198.51.100.30/32";\n'
    '\texec.start = "/bin/sh /etc/rc";\n'
    "\tmount.devfs;\n"
    "}\n"
)


def jail_spec() -> dict:
    spec = small_spec()
    web = next(h for h in spec["hosts"] if h["name"] == "web")
    web["pools"] = [
        {"name": "zroot", "vdevs": [{"type": "mirror", "devices": ["ada0p4", "ada1p4"]}]}
    ]
    return spec


@pytest.fixture
def web(tmp_path):
    with running_fleet(jail_spec(), tmp_path / "state") as f:
        c = Client(f)
        yield f, c
        c.close()


def zlist(ssh, ds) -> tuple[str, str, int]:
    return ssh.run("web", f"zfs list -H -o name,used,avail,quota {ds}")


def test_zfs_create_set_and_list_with_quota(web):
    _fleet, ssh = web
    create = "zfs create -o quota=10G -o mountpoint=/usr/local/jails/new zroot/jails/new"
    assert ssh.run("web", create) == ("", "", 0)
    name, used, avail, quota = zlist(ssh, "zroot/jails/new")[0].rstrip("\n").split("\t")
    assert (name, used, quota) == ("zroot/jails/new", "96K", "10G") and avail.endswith("G")
    assert ssh.run("web", "test -d /usr/local/jails/new")[2] == 0
    assert ssh.run("web", "zfs set quota=20G zroot/jails/new") == ("", "", 0)
    assert zlist(ssh, "zroot/jails/new")[0].split("\t")[3] == "20G\n"
    assert ssh.run("web", "zfs get -H -p -o value quota zroot/jails/new") == (
        f"{20 << 30}\n",
        "",
        0,
    )
    assert ssh.run("web", "zfs list -H -o quota zroot/jails")[0] == "none\n"
    cols = ("name", "used", "avail", "quota")
    d = parse("zfs-list", zlist(ssh, "zroot/jails/new")[0], cols)
    assert d.parse_errors == () and d.to_dict()["datasets"][0]["name"] == "zroot/jails/new"


def test_zfs_errors_as_openzfs_prints_them(web):
    _fleet, ssh = web
    assert ssh.run("web", "zfs create zroot/jails/staging") == (
        "",
        "cannot create 'zroot/jails/staging': dataset already exists\n",
        1,
    )
    assert ssh.run("web", "zfs create zroot/a/b") == (
        "",
        "cannot create 'zroot/a/b': parent does not exist\n",
        1,
    )
    assert ssh.run("web", "zfs create -p zroot/a/b")[2] == 0
    assert ssh.run("web", "zfs set quota=lots zroot/a/b") == (
        "",
        "cannot set property for 'zroot/a/b': bad numeric value 'lots'\n",
        1,
    )
    assert zlist(ssh, "zroot/nope") == ("", "cannot open 'zroot/nope': dataset does not exist\n", 1)
    assert ssh.run("web", "zfs destroy zroot/a") == (
        "",
        "cannot destroy 'zroot/a': filesystem has children\n"
        "use '-r' to destroy the following datasets:\nzroot/a/b\n",
        1,
    )
    assert ssh.run("web", "zfs destroy -r zroot/a") == ("", "", 0)
    assert zlist(ssh, "zroot/a/b")[2] == 1
    # a running jail keeps its dataset busy
    assert ssh.run("web", "zfs destroy zroot/jails/staging") == (
        "",
        "cannot unmount '/jails/staging': pool or dataset is busy\n",
        1,
    )


def test_zfs_snapshot_clone_and_destroy_with_dependents(web):
    _fleet, ssh = web
    assert ssh.run("web", "zfs snapshot zroot/jails/staging@base") == ("", "", 0)
    clone = "zfs clone -o quota=10G zroot/jails/staging@base zroot/jails/copy"
    assert ssh.run("web", clone) == ("", "", 0)
    assert ssh.run("web", "zfs get -H -o value origin zroot/jails/copy")[0] == (
        "zroot/jails/staging@base\n"
    )
    assert ssh.run("web", clone)[1] == "cannot create 'zroot/jails/copy': dataset already exists\n"
    assert ssh.run("web", "zfs clone zroot/jails/staging@none zroot/x")[1] == (
        "cannot open 'zroot/jails/staging@none': dataset does not exist\n"
    )
    assert ssh.run("web", "zfs destroy zroot/jails/staging@base") == (
        "",
        "cannot destroy 'zroot/jails/staging@base': snapshot has dependent clones\n"
        "use '-R' to destroy the following datasets:\nzroot/jails/copy\n",
        1,
    )
    assert ssh.run("web", "zfs destroy zroot/jails/copy") == ("", "", 0)
    assert ssh.run("web", "zfs destroy zroot/jails/staging@base") == ("", "", 0)
    assert ssh.run("web", "zfs destroy zroot/jails/staging@base")[1] == (
        "could not find any snapshots to destroy; check snapshot names.\n"
    )


def test_a_jail_from_jail_conf_d_starts_stops_and_shows_in_jls(web):
    _fleet, ssh = web
    assert ssh.run("web", "cat > /etc/jail.conf.d/new.conf", stdin=CONF)[2] == 0
    # no path yet: rc.d/jail says why, and still exits 0 (jls -j is the check)
    out, _err, rc = ssh.run("web", "service jail start new")
    assert (out, rc) == (
        'Starting jails: cannot start jail  "new": \n'
        "jail: new: path /usr/local/jails/new: No such file or directory\n.\n",
        0,
    )
    assert ssh.run("web", "jls -j new") == ("", 'jls: jail "new" not found\n', 1)
    ssh.run("web", "zfs create -o quota=10G -o mountpoint=/usr/local/jails/new zroot/jails/new")
    assert ssh.run("web", "service jail start new") == ("Starting jails: new.\n", "", 0)
    assert ssh.run("web", "jls -j new")[2] == 0
    d = parse("jls", ssh.run("web", "jls -v --libxo json")[0]).to_dict()
    assert ("new", "new.acme.example", ["198.51.100.30"]) in [
        (j["name"], j["hostname"], j["ipv4"]) for j in d["jails"]
    ]
    assert ssh.run("web", "service jail restart new")[0] == (
        "Stopping jails: new.\nStarting jails: new.\n"
    )
    assert ssh.run("web", "service jail stop new") == ("Stopping jails: new.\n", "", 0)
    assert ssh.run("web", "jail -c new") == ("new: created\n", "", 0)
    assert ssh.run("web", "jail -c new") == ("", 'jail: "new" already exists\n', 1)
    assert ssh.run("web", "jail -r new") == ("new: removed\n", "", 0)
    assert ssh.run("web", "jail -r new") == ("", 'jail: "new" not found\n', 1)
    assert ssh.run("web", "jail -c ghost") == ("", 'jail: "ghost" not found\n', 1)


def test_fail_command_fails_only_the_matching_step(web):
    fleet, ssh = web
    fleet.inject("web", "fail-command", "zfs clone", "cannot clone: simulated I/O error")
    ssh.run("web", "zfs snapshot zroot/jails/staging@base")
    clone = "zfs clone zroot/jails/staging@base zroot/jails/copy"
    assert ssh.run("web", clone) == ("", "cannot clone: simulated I/O error\n", 1)
    assert zlist(ssh, "zroot/jails/copy")[2] == 1  # it did not run
    assert ssh.run("web", "zfs list -H -o name zroot/jails")[2] == 0
    # a pattern may name a redirection target, or be a glob
    fleet.inject("web", "fail-command", "cat > /etc/jail.conf.d/*")
    assert ssh.run("web", "cat > /etc/jail.conf.d/x.conf", stdin=CONF) == (
        "",
        "cat: failed (fault fail-command)\n",
        1,
    )
    assert ssh.run("web", "cat > /tmp/x.conf", stdin=CONF)[2] == 0
    fleet.heal("web", "fail-command")
    assert ssh.run("web", clone) == ("", "", 0)


def test_new_jails_and_datasets_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(jail_spec(), state) as fleet:
        ssh = Client(fleet)
        ssh.run("web", "cat > /etc/jail.conf.d/new.conf", stdin=CONF)
        ssh.run("web", "zfs create -o mountpoint=/usr/local/jails/new zroot/jails/new")
        assert ssh.run("web", "service jail start new")[0] == "Starting jails: new.\n"
        ssh.close()
    with running_fleet(jail_spec(), state) as fleet:
        ssh = Client(fleet)
        assert ssh.run("web", "jls -j new")[2] == 0
        assert zlist(ssh, "zroot/jails/new")[2] == 0
        ssh.close()


def test_a_spec_can_seed_a_jail_template_to_clone(tmp_path):
    spec = jail_spec()
    web = next(h for h in spec["hosts"] if h["name"] == "web")
    web["datasets"] = [{"name": "zroot/jails/templates/14.1-RELEASE", "snapshots": ["base"]}]
    with running_fleet(spec, tmp_path / "state") as fleet:
        ssh = Client(fleet)
        out = ssh.run(
            "web", "zfs list -H -t snapshot -o name zroot/jails/templates/14.1-RELEASE@base"
        )
        assert out == ("zroot/jails/templates/14.1-RELEASE@base\n", "", 0)
        clone = "zfs clone -o quota=10G zroot/jails/templates/14.1-RELEASE@base zroot/jails/new"
        assert ssh.run("web", clone) == ("", "", 0)
        assert ssh.run("web", "test -d /jails/new")[2] == 0
        ssh.close()
    bad = jail_spec()
    next(h for h in bad["hosts"] if h["name"] == "web")["datasets"] = ["tank/x"]
    with pytest.raises(SpecError, match="'tank/x' is not below one of its pools"):
        load_spec(bad)
