"""sysctl, pfctl -si, uname -a and freebsd-version."""

from __future__ import annotations

from hosts.freebsd import parse_freebsd_version, parse_pfctl_info, parse_sysctl, parse_uname

from .samples import read


def test_sysctl_carp_sample():
    r = parse_sysctl(read("sysctl-carp__opnsense-3671-fw1-demotion-0.txt"))
    assert r.values == {
        "net.inet.carp.ifdown_demotion_factor": 240,
        "net.inet.carp.senderr_demotion_factor": 240,
        "net.inet.carp.demotion": 0,
        "net.inet.carp.log": 1,
        "net.inet.carp.preempt": 1,
        "net.inet.carp.allow": 1,
    }
    assert r.parse_errors == ()
    assert "net.inet.carp.dscp" not in r.values  # no such OID on 11.x: absent, not invented


def test_sysctl_strings_multiline_unknown_oid():
    text = (
        "kern.ostype: FreeBSD\n"
        "kern.geom.conftxt: 0 DISK ada0 1\n"
        "1 PART ada0p1 2\n"
        "net.inet.carp.demotion: -240\n"
        "sysctl: unknown oid 'net.inet.carp.dscp'\n"
        "kern.hostname=fw1\n"
    )
    r = parse_sysctl(text)
    assert r.values["kern.ostype"] == "FreeBSD"
    assert r.values["kern.geom.conftxt"] == "0 DISK ada0 1\n1 PART ada0p1 2"
    assert r.values["net.inet.carp.demotion"] == -240
    assert r.values["kern.hostname"] == "fw1"
    assert r.unknown_oids == ("net.inet.carp.dscp",)


def test_pfctl_si_sample():
    r = parse_pfctl_info(read("pfctl-si__telegraf-2-states-26min.txt"))
    assert r.enabled is True
    assert r.state_table == {"current_entries": 2, "searches": 11325, "inserts": 5, "removals": 3}
    assert r.counters["match"] == 11226
    assert r.counters["state-mismatch"] == 0 and r.counters["bad-offset"] == 0
    assert len(r.counters) == 15
    assert r.running_seconds == 26 * 60 + 5 and r.debug == "Urgent"
    assert r.parse_errors == ()


def test_pfctl_vsi_disabled_with_limit_counters():
    # Layout of pfctl -vsi (pfctl_parser.c print_status), constructed.
    text = (
        "Status: Disabled for 0 days 00:00:12          Debug: Urgent\n\n"
        "Hostid:   0x1c2b3a4d\nChecksum: 0x0123456789abcdef0123456789abcdef\n\n"
        "Interface Stats for em0              IPv4             IPv6\n"
        "  Bytes In                          1000                0\n"
        "State Table                          Total             Rate\n"
        "  current entries                       7               \n"
        "  searches                            100            1.0/s\n"
        "  inserts                              10            0.1/s\n"
        "  removals                              3            0.0/s\n"
        "Counters\n  match                                 5            0.0/s\n"
        "Limit Counters\n  max states per rule                   0            0.0/s\n"
    )
    r = parse_pfctl_info(text)
    assert r.enabled is False and r.hostid == "0x1c2b3a4d"
    assert r.state_table["current_entries"] == 7
    assert r.limit_counters == {"max states per rule": 0}
    assert r.sections["Interface Stats for em0"] == {"Bytes In": 1000}


def test_uname_long_form():
    r = parse_uname(read("uname-a__jc-freebsd10.1-p10-builder.txt"))
    assert (r.sysname, r.nodename, r.machine, r.kernel_ident) == (
        "FreeBSD", "freebsd", "amd64", "GENERIC",
    )  # fmt: skip
    assert (r.release.major, r.release.minor, r.release.branch, r.release.patch) == (
        10, 1, "RELEASE", 10,
    )  # fmt: skip
    assert r.parse_errors == ()


def test_uname_short_form():
    r = parse_uname(read("uname-a__jc-freebsd12.1-generic.txt"))
    assert r.release.text == "12.1-RELEASE" and r.release.patch is None
    assert r.kernel_ident == "GENERIC" and r.machine == "amd64"
    assert r.version == "FreeBSD 12.1-RELEASE r354233 GENERIC"


def test_freebsd_version():
    r = parse_freebsd_version("14.1-RELEASE-p5\n14.1-RELEASE-p6\n15.0-CURRENT\n")
    assert [(v.major, v.minor, v.branch, v.patch) for v in r.versions] == [
        (14, 1, "RELEASE", 5), (14, 1, "RELEASE", 6), (15, 0, "CURRENT", None),
    ]  # fmt: skip
    bad = parse_freebsd_version("garbage\n")
    assert bad.versions[0].major is None and bad.parse_errors
