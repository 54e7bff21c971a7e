"""Act commands, part 5: gmirror forget/insert/remove, fsck_ufs and mount (the clone
workflow), zpool replace — and nyiops' parsers reading the outputs mid-rebuild."""

from __future__ import annotations

import pytest

from fleetsim.testing import running_fleet
from hosts.freebsd import parse

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim


def storage_spec() -> dict:
    spec = small_spec()
    nas = next(h for h in spec["hosts"] if h["name"] == "nas")
    nas["disks"] = ["ada0", "ada1", "ada2", "da0", "da1", "da2", "da3"]
    nas["mirrors"].append(
        {"name": "gm0", "components": ["ada0p3", "ada1p3"], "rebuild_pct_per_s": 10}
    )
    return spec


@pytest.fixture
def nas(tmp_path):
    with running_fleet(storage_spec(), tmp_path / "state") as f:
        c = Client(f)
        yield f, c
        c.close()


def mirror(ssh, name: str) -> dict:
    out, err, rc = ssh.run("nas", "gmirror status")
    result = parse("gmirror-status", out)
    assert rc == 0 and result.parse_errors == (), (out, err)
    return next(m for m in result.to_dict()["mirrors"] if m["name"] == name)


def test_replacing_a_failed_mirror_disk(nas):
    fleet, ssh = nas
    fleet.inject("nas", "disk-fail", "ada1p2")
    assert ssh.run("nas", "gmirror insert swap ada2p2") == (
        "",
        "gmirror: Not all disks connected.\n",
        1,
    )
    assert ssh.run("nas", "gmirror forget swap") == ("", "", 0)
    assert ssh.run("nas", "gmirror insert swap ada9p2") == (
        "",
        "gmirror: Unknown provider ada9p2.\n",
        1,
    )
    assert ssh.run("nas", "gmirror insert swap ada0p2") == (
        "",
        "gmirror: Provider ada0p2 already inserted.\n",
        1,
    )
    assert ssh.run("nas", "gmirror insert gm9 ada2p2") == (
        "",
        "gmirror: No such device: gm9.\n",
        1,
    )
    assert ssh.run("nas", "gmirror insert swap ada2p2") == ("", "", 0)
    swap = mirror(ssh, "swap")
    assert swap["status"] == "DEGRADED"
    assert [(c["name"], c["state"]) for c in swap["components"]] == [
        ("ada0p2", "ACTIVE"),
        ("ada2p2", "SYNCHRONIZING"),
    ]
    assert 0 <= swap["components"][1]["progress"] < 100
    listed = parse("gmirror-list", ssh.run("nas", "gmirror list swap")[0]).to_dict()["mirrors"][0]
    assert listed["components_count"] == 2
    fleet.advance(12)  # 10 %/s
    swap = mirror(ssh, "swap")
    assert swap["status"] == "COMPLETE"
    assert "rebuilding provider ada2p2 finished" in ssh.run("nas", "cat /var/log/messages")[0]


def test_the_clone_workflow_remove_fsck_mount(nas):
    fleet, ssh = nas
    assert ssh.run("nas", "gmirror remove gm0 ada9p3") == (
        "",
        "gmirror: No such provider: ada9p3.\n",
        1,
    )
    assert ssh.run("nas", "gmirror remove gm0 ada1p3") == ("", "", 0)
    gm0 = mirror(ssh, "gm0")
    assert gm0["status"] == "COMPLETE" and [c["name"] for c in gm0["components"]] == ["ada0p3"]
    # the copy was not unmounted cleanly: mount refuses until fsck
    out, err, rc = ssh.run("nas", "mount /dev/ada1p3 /mnt")
    assert rc == 1 and err == (
        "mount: /dev/ada1p3: R/W mount of /mnt denied. Filesystem is not clean - run fsck.: "
        "Operation not permitted\n"
    )
    out, err, rc = ssh.run("nas", "fsck_ufs -p /dev/ada1p3")
    assert rc == 0 and out.startswith("/dev/ada1p3: ") and " files, " in out
    assert out.endswith("% fragmentation)\n")
    out = ssh.run("nas", "fsck -t ufs -p /dev/ada1p3")[0]
    assert out.startswith("/dev/ada1p3: FILE SYSTEM CLEAN; SKIPPING CHECKS\n/dev/ada1p3: clean, ")
    assert ssh.run("nas", "fsck_ufs -p /dev/ada0p3") == (
        "Can't open /dev/ada0p3: Operation not permitted\n",
        "",
        8,
    )
    assert ssh.run("nas", "mount /dev/ada1p3 /mnt") == ("", "", 0)
    assert ssh.run("nas", "mount")[0] == "/dev/ada1p3 on /mnt (ufs, local, soft-updates)\n"
    assert ssh.run("nas", "mount /dev/ada1p3 /mnt")[1] == "mount: /dev/ada1p3: Device busy\n"
    assert ssh.run("nas", "umount /mnt") == ("", "", 0)
    assert ssh.run("nas", "umount /mnt") == (
        "",
        "umount: /mnt: not a file system root directory\n",
        1,
    )
    # and back into the mirror
    assert ssh.run("nas", "gmirror insert gm0 ada1p3") == ("", "", 0)
    fleet.advance(12)
    assert mirror(ssh, "gm0")["status"] == "COMPLETE"


def test_zpool_replace_shows_replacing_until_the_resilver_ends(nas):
    fleet, ssh = nas
    fleet.inject("nas", "disk-fail", "ada1p4")
    assert ssh.run("nas", "zpool replace zroot ada9p4 ada2p4") == (
        "",
        "cannot replace ada9p4 with ada2p4: no such device in pool\n",
        1,
    )
    assert ssh.run("nas", "zpool replace zroot ada1p4 ada0p4")[1] == (
        "invalid vdev specification\nuse '-f' to override the following errors:\n"
        "/dev/ada0p4 is part of active pool 'zroot'\n"
    )
    assert ssh.run("nas", "zpool replace nopool ada1p4 ada2p4")[1] == (
        "cannot open 'nopool': no such pool\n"
    )
    assert ssh.run("nas", "zpool replace zroot ada1p4 ada2p4") == ("", "", 0)
    out = ssh.run("nas", "zpool status zroot")[0]
    assert "\t    replacing-1  DEGRADED     0     0     0\n" in out
    assert "\t      ada2p4     ONLINE       0     0     0  (resilvering)\n" in out
    assert "  scan: resilver in progress since " in out and "% done, " in out
    pool = parse("zpool-status", ssh.run("nas", "zpool status -p zroot")[0])
    assert pool.parse_errors == ()
    d = pool.to_dict()["pools"][0]
    assert d["state"] == "DEGRADED" and d["scan"]["kind"] == "resilver"
    fleet.advance(60)  # resilver_pct_per_s 2
    d = parse("zpool-status", ssh.run("nas", "zpool status -p zroot")[0]).to_dict()["pools"][0]
    devices = {c["name"]: c["state"] for v in d["vdevs"] for c in v["children"]}
    assert d["state"] == "ONLINE" and devices == {"ada0p4": "ONLINE", "ada2p4": "ONLINE"}


def test_storage_changes_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(storage_spec(), state) as fleet:
        ssh = Client(fleet)
        ssh.run("nas", "gmirror remove gm0 ada1p3")
        ssh.run("nas", "fsck_ufs -p /dev/ada1p3 && mount /dev/ada1p3 /mnt")
        ssh.run("nas", "zpool replace zroot ada1p4 ada2p4")
        ssh.close()
    with running_fleet(storage_spec(), state) as fleet:
        ssh = Client(fleet)
        assert ssh.run("nas", "mount")[0] == "/dev/ada1p3 on /mnt (ufs, local, soft-updates)\n"
        assert "replacing-1" in ssh.run("nas", "zpool status zroot")[0]
        ssh.close()
