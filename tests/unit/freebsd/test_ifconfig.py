"""ifconfig: every real sample's facts, plus formats the samples do not show."""

from __future__ import annotations

import pytest

from hosts.freebsd import parse_ifconfig

from .samples import read

SAMPLES = {
    "ifconfig-carp__freebsd10-vlan316-14-vhids-backup.txt": ("BACKUP", 100),
    "ifconfig-carp__freebsd10-vlan316-14-vhids-master.txt": ("MASTER", 50),
}
VHIDS_316 = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 33, 34]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_freebsd10_vlan_with_14_vhids(name):
    state, advskew = SAMPLES[name]
    r = parse_ifconfig(read(name))
    assert r.parse_errors == ()
    (iface,) = r.interfaces
    assert iface.name == "vlan316" and iface.mtu == 1500
    assert "PROMISC" in iface.flags
    assert [c.vhid for c in iface.carp] == VHIDS_316
    assert {(c.state, c.advbase, c.advskew) for c in iface.carp} == {(state, 1, advskew)}
    vips = [a for a in iface.inet if a.vhid is not None]
    assert [a.vhid for a in vips] == VHIDS_316
    assert all(a.prefixlen == 32 for a in vips)
    assert iface.inet[0].vhid is None and iface.inet[0].prefixlen == 24
    assert iface.pfsync is None


def test_freebsd14_peer_line_and_inet6_vip():
    r = parse_ifconfig(read("ifconfig-carp__freebsd14-vnet0-backup-peer-line.txt"))
    (iface,) = r.interfaces
    assert iface.name == "vnet0" and "LOWER_UP" in iface.flags
    (carp,) = iface.carp
    assert (carp.state, carp.vhid, carp.advbase, carp.advskew) == ("BACKUP", 1, 1, 0)
    assert (carp.peer, carp.peer6) == ("224.0.0.18", "ff02::12")
    assert [(a.address, a.prefixlen) for a in iface.inet if a.vhid == 1] == [("10.1.60.200", 32)]
    v6 = [a for a in iface.inet6 if a.vhid == 1]
    assert [(a.address, a.prefixlen) for a in v6] == [("fd5e:d1c2:c9de:60::200", 128)]
    assert iface.status == "active"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ifconfig-carp__jail-grep-master-backup-vm1-vm2.txt",
         [(2, "MASTER", 100), (1, "MASTER", 100)]),
        ("ifconfig-carp__opnsense-3671-fw1-grep-master.txt",
         [(3, "MASTER", 0), (1, "MASTER", 0)]),
        ("ifconfig-carp__opnsense-3671-fw2-grep-backup.txt",
         [(3, "BACKUP", 100), (1, "BACKUP", 100)]),
        (
            "ifconfig-carp__opnsense-1100-13-vhids-master-grep.txt",
            [(v, "MASTER", 0) for v in (1, 8, 3, 4, 10, 6, 7, 9, 11, 12, 13, 14, 15)],
        ),
    ],
)  # fmt: skip
def test_grep_filtered_carp_lines(name, expected):
    r = parse_ifconfig(read(name))
    carps = [c for i in r.interfaces for c in i.carp]
    assert [(c.vhid, c.state, c.advskew) for c in carps] == expected
    assert all(c.advbase == 1 for c in carps)
    assert r.interfaces[0].name is None  # header was filtered away


def test_grep_a2_peer_and_context_line():
    r = parse_ifconfig(read("ifconfig-carp__opnsense-grep-A2-backup-peer-vlan.txt"))
    (carp,) = [c for i in r.interfaces for c in i.carp]
    assert (carp.vhid, carp.state, carp.advskew) == (11, "BACKUP", 100)
    assert carp.peer == "224.0.0.18" and carp.peer6 == "ff02::12"


def test_old_carp0_interface():
    r = parse_ifconfig(read("ifconfig-carp__old-carp0-interface-backup-hast-blog.txt"))
    (iface,) = r.interfaces
    assert iface.name == "carp0" and iface.mtu == 1500
    assert iface.flags == ("UP", "LOOPBACK", "RUNNING")  # decoded from flags=49
    assert [(a.address, a.prefixlen, a.vhid) for a in iface.inet] == [("192.168.10.10", 16, None)]
    (carp,) = iface.carp
    assert (carp.state, carp.vhid, carp.advbase, carp.advskew) == ("BACKUP", 1, 1, 20)


def test_pfsync0_modern():
    r = parse_ifconfig(read("ifconfig-pfsync__opnsense-pfsync0-syncdev-syncpeer.txt"))
    (iface,) = r.interfaces
    assert iface.name == "pfsync0" and iface.flags == ("UP", "RUNNING", "LOWER_UP")
    p = iface.pfsync
    assert (p.syncdev, p.syncpeer, p.maxupd, p.defer, p.syncok, p.version) == (
        "vmx2", "10.0.0.2", 128, False, 1, 1400,
    )  # fmt: skip
    assert r.to_dict()["interfaces"][0]["pfsync"]["syncok"] == 1


def test_pfsync_old_format_prefix_without_syncok():
    # Format from ifconfig/ifpfsync.c of FreeBSD 8/9 (constructed, not a captured sample).
    text = (
        "pfsync0: flags=41<UP,RUNNING> metric 0 mtu 1460\n"
        "\tpfsync: syncdev: em1 syncpeer: 10.0.0.2 maxupd: 128 defer: on\n"
    )
    p = parse_ifconfig(text).interfaces[0].pfsync
    assert (p.syncdev, p.syncpeer, p.maxupd, p.defer, p.syncok) == (
        "em1",
        "10.0.0.2",
        128,
        True,
        None,
    )


def test_multiple_interfaces_cidr_and_unknown_state():
    text = (
        "em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\r\n"
        "\tinet 192.0.2.5/24 broadcast 192.0.2.255 vhid 7\r\n"
        "\tcarp: WEIRDSTATE vhid 7 advbase 2 advskew 254\r\n"
        "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384\r\n"
        "\tinet6 ::1 prefixlen 128\r\n"
    )
    r = parse_ifconfig(text)
    assert [i.name for i in r.interfaces] == ["em0", "lo0"]
    assert r.interfaces[0].inet[0].prefixlen == 24 and r.interfaces[0].inet[0].vhid == 7
    assert r.interfaces[0].carp[0].state == "WEIRDSTATE"
    assert r.interfaces[1].carp == () and r.interfaces[1].pfsync is None
    d = r.to_dict()
    assert d["interfaces"][1]["carp"] == [] and d["parse_errors"] == []


def test_empty_input():
    assert parse_ifconfig("").to_dict() == {"interfaces": [], "parse_errors": []}
