"""zfs list and jls."""

from __future__ import annotations

from hosts.freebsd import parse_jls, parse_zfs_list

from .samples import read

ZFS_COLUMNS = ["name", "avail", "used", "usedsnap", "usedds"]


def test_zfs_list_freebsd14():
    r = parse_zfs_list(read("zfs-list-Hp__telegraf-freebsd14-datasets.txt"), ZFS_COLUMNS)
    assert len(r.datasets) == 14 and r.parse_errors == ()
    assert all(d.name.startswith("zroot") and d.kind == "dataset" for d in r.datasets)
    root = r.datasets[0]
    assert root.properties == {"avail": 53069045760, "used": 11959443456, "usedsnap": None,
                               "usedds": None}  # fmt: skip


def test_zfs_list_zata():
    r = parse_zfs_list(read("zfs-list-Hp__telegraf-zata-datasets.txt"), ZFS_COLUMNS)
    assert [d.name for d in r.datasets] == ["zata", "zata/home", "zata/import", "zata/storage"]
    storage = r.datasets[3].properties
    assert storage["used"] == 8556084379648 and storage["usedsnap"] == 3601138999296


def test_zfs_list_snapshots_hp():
    text = "zroot/usr/home@auto-1\t1700000000\t1228800\t94371840\n"
    (d,) = parse_zfs_list(text, ["name", "creation", "used", "referenced"]).datasets
    assert d.kind == "snapshot"
    assert d.properties == {"creation": 1700000000, "used": 1228800, "referenced": 94371840}


def test_zfs_list_default_header_human_sizes():
    text = "NAME         USED  AVAIL  REFER  MOUNTPOINT\nzroot       1.5G  20.0G    96K  /zroot\n"
    (d,) = parse_zfs_list(text).datasets
    assert d.properties == {"used": round(1.5 * 1024**3), "avail": 20 * 1024**3,
                            "refer": 96 * 1024, "mountpoint": "/zroot"}  # fmt: skip


def test_jls_default_samples():
    for name, jail in [
        ("jls__ezjail-apollo-local.txt",
         (1, "10.51.4.133", "apollo-local", "/opt/jails/apollo-local")),
        ("jls__freebsd11-single-jail-www-local.txt",
         (1, "10.0.2.202", "www.local", "/usr/jail/www")),
    ]:  # fmt: skip
        (j,) = parse_jls(read(name)).jails
        assert (j.jid, j.ipv4[0], j.hostname, j.path) == jail
        assert j.ipv6 == ()


def test_jls_handbook_three_jails():
    r = parse_jls(read("jls__handbook-old-3-jails-ns-mail-www.txt"))
    assert [(j.jid, j.ipv4, j.hostname, j.path) for j in r.jails] == [
        (3, ("192.168.3.17",), "ns.example.org", "/home/j/ns"),
        (2, ("192.168.3.18",), "mail.example.org", "/home/j/mail"),
        (1, ("62.123.43.14",), "www.example.org", "/home/j/www"),
    ]


def test_jls_vnet_no_ip():
    (j,) = parse_jls(read("jls__vnet-jail-webserver-no-ip.txt")).jails
    assert (j.jid, j.ipv4, j.ipv6, j.hostname, j.path) == (
        1,
        (),
        (),
        "webserver",
        "/jail/webserver",
    )
    assert j.to_dict()["ipv4"] == []


def test_jls_libxo_json_name_meta():
    (j,) = parse_jls(read("jls-json__freebsd-src-atf-libxo-name-meta.txt")).jails
    assert (j.name, j.jid, j.hostname, j.path) == ("jail1", None, None, None)
    assert j.params["meta"] == "a b c"


def test_jls_verbose_multiline():
    # Layout from usr.sbin/jls/jls.c (PRINT_VERBOSE), constructed.
    text = (
        "   JID  Hostname                      Path\n"
        "        Name                          State\n"
        "        CPUSetID\n"
        "        IP Address(es)\n"
        "     1  www.local                     /usr/jail/www\n"
        "        www                           ACTIVE\n"
        "        2\n"
        "        10.0.2.202\n"
        "        10.0.2.203\n"
        "        2001:db8::5\n"
        "     2  db.local                      /usr/jail/db\n"
        "        db                            DYING\n"
        "        3\n"
    )
    r = parse_jls(text)
    www, db = r.jails
    assert (www.jid, www.name, www.state, www.cpusetid) == (1, "www", "ACTIVE", 2)
    assert www.ipv4 == ("10.0.2.202", "10.0.2.203") and www.ipv6 == ("2001:db8::5",)
    assert (db.jid, db.state, db.ipv4) == (2, "DYING", ())


def test_jls_nameval_and_header_forms():
    n = parse_jls(
        'devfs_ruleset=4 nodying enforce_statfs=2 host.hostname="web one" '
        "ip4.addr=10.0.0.1,10.0.0.2 ip6.addr=2001:db8::1 jid=3 name=web path=/j/web\n"
    )
    (j,) = n.jails
    assert (j.jid, j.name, j.hostname, j.path, j.state) == (3, "web", "web one", "/j/web", "ACTIVE")
    assert j.ipv4 == ("10.0.0.1", "10.0.0.2") and j.ipv6 == ("2001:db8::1",)
    h = parse_jls("jid name host.hostname path ip4.addr\n7 db db.local /j/db 10.0.0.9\n")
    (j,) = h.jails
    assert (j.jid, j.name, j.hostname, j.ipv4) == (7, "db", "db.local", ("10.0.0.9",))


def test_jls_empty_and_garbage():
    assert parse_jls("").to_dict() == {"jails": [], "parse_errors": []}
    assert parse_jls("!!! ???\n").parse_errors
