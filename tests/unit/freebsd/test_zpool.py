"""zpool status / zpool list (text and JSON)."""

from __future__ import annotations

from hosts.freebsd import parse_zpool_list, parse_zpool_status

from .samples import read

HP_COLUMNS = ["name", "health", "size", "alloc", "free", "fragmentation", "capacity", "dedupratio"]


def _tree(vdevs):
    return [(v.name, v.state, v.read, v.write, v.cksum, _tree(v.children)) for v in vdevs]


def _one(name):
    r = parse_zpool_status(read(name))
    assert len(r.pools) == 1
    return r, r.pools[0]


def test_online_resilvered_complete():
    r, p = _one("zpool-status__freebsd-online-resilvered-complete.txt")
    assert (p.name, p.state, p.status, p.action) == ("zvol0", "ONLINE", None, None)
    assert (p.scan.kind, p.scan.state, p.scan.errors) == ("resilver", "finished", 0)
    assert p.scan.finished_on == "Mon Jan 30 03:49:15 2023" and p.scan.duration == "14:11:00"
    assert _tree(p.vdevs) == [
        ("mirror-0", "ONLINE", 0, 0, 0, [
            ("gpt/sdisk1", "ONLINE", 0, 0, 0, []), ("gpt/sdisk2", "ONLINE", 0, 0, 0, []),
        ]),
    ]  # fmt: skip
    assert p.errors == "No known data errors" and p.error_count == 0
    assert r.parse_errors == ()


def test_cksum_error_with_odd_indentation():
    r, p = _one("zpool-status__handbook-cksum-error-unrecoverable.txt")
    assert (p.name, p.state) == ("healer", "ONLINE")
    assert p.status.startswith("One or more devices has experienced an unrecoverable error.")
    assert p.see == "http://illumos.org/msg/ZFS-8000-4J"
    assert p.scan.kind is None and p.scan.state is None
    (mirror,) = p.vdevs
    assert [(d.name, d.cksum) for d in mirror.children] == [("ada0", 0), ("ada1", 1)]
    assert r.parse_errors == ()


def test_degraded_unavail_was():
    _, p = _one("zpool-status__handbook-degraded-unavail-scan-none.txt")
    assert p.state == "DEGRADED" and p.scan.kind is None
    (mirror,) = p.vdevs
    assert mirror.state == "DEGRADED"
    gone = mirror.children[1]
    assert (gone.name, gone.state, gone.was) == ("316502962686821739", "UNAVAIL", "/dev/ada1p3")


def test_resilver_in_progress_old_scan_format():
    _, p = _one("zpool-status__handbook-resilver-82pct-old-scan-format.txt")
    assert (p.scan.kind, p.scan.state, p.scan.progress_pct) == ("resilver", "in_progress", 82.04)
    assert p.scan.errors is None and p.scan.to_go == "0h0m"
    replacing = p.vdevs[0].children[1]
    assert (replacing.name, replacing.state) == ("replacing-1", "UNAVAIL")
    old, new = replacing.children
    assert old.was == "/dev/ada1p3/old" and old.state == "UNAVAIL"
    assert (new.name, new.note) == ("ada2p3", "(resilvering)")


def test_scrub_repairing():
    _, p = _one("zpool-status__handbook-scrub-repairing-15pct.txt")
    assert (p.scan.kind, p.scan.state, p.scan.progress_pct) == ("scrub", "in_progress", 15.56)
    ada1 = p.vdevs[0].children[1]
    assert (ada1.name, ada1.cksum, ada1.note) == ("ada1", 627, "(repairing)")


def test_solaris_unavail_permanent_errors():
    _, p = _one("zpool-status__jc-fixture-unavail-permanent-errors.txt")
    assert p.state == "UNAVAIL"
    assert (p.scan.kind, p.scan.state, p.scan.errors) == ("scrub", "finished", 0)
    assert p.root.note == "insufficient replicas"
    bad = p.vdevs[1]
    assert (bad.name, bad.state, bad.read, bad.write, bad.cksum, bad.note) == (
        "c1t1d0", "UNAVAIL", 4, 1, 0, "cannot open",
    )  # fmt: skip
    assert p.errors == "Permanent errors have been detected in the following files:"
    assert p.error_files == ("/tank/data/aaa", "/tank/data/bbb", "/tank/data/ccc")


def test_openzfs_excerpt_scrub_in_progress():
    r = parse_zpool_status(read("zpool-status__openzfs-man-scrub-in-progress-excerpt.txt"))
    (p,) = r.pools
    assert (p.scan.kind, p.scan.state, p.scan.progress_pct) == ("scrub", "in_progress", 16.91)
    assert p.scan.to_go == "00:00:04" and p.scan.repaired_bytes == 0
    assert r.parse_errors  # the excerpt has no pool: line; that is reported, not invented


def test_status_json():
    r = parse_zpool_status(read("zpool-status-json__openzfs-man-zpool-status-j.txt"))
    (p,) = r.pools
    assert (p.name, p.state, p.error_count) == ("tank", "ONLINE", 0)
    (raidz,) = p.vdevs
    assert raidz.name == "raidz1-0" and raidz.state == "HEALTHY" and len(raidz.children) == 3
    assert all(d.read == 0 and d.cksum == 0 for d in raidz.children)
    assert [v.name for v in p.dedup] == ["mirror-2"] and len(p.special) == 1


MULTI = """\
  pool: tank
 state: ONLINE
  scan: scrub canceled on Tue Mar  5 10:00:00 2024
config:

\tNAME        STATE     READ WRITE CKSUM
\ttank        ONLINE       0     0     0
\t  raidz1-0  ONLINE       0     0     0
\t    ada0    ONLINE   2.72K     0     0
\t    ada1    ONLINE       0     0     0
\tlogs
\t  ada2      ONLINE       0     0     0
\tcache
\t  ada3      ONLINE       0     0     0
\tspares
\t  ada4      AVAIL
\t  ada5      INUSE     currently in use

errors: 3 data errors, use '-v' for a list

  pool: zroot
 state: ONLINE
  scan: scrub repaired 0B in 00:00:05 with 0 errors on Sun Jul  7 00:00:05 2024
config:

\tNAME        STATE     READ WRITE CKSUM
\tzroot       ONLINE       0     0     0
\t  ada6p3    ONLINE       0     0     0

errors: No known data errors
"""  # layout of OpenZFS zpool status (constructed)


def test_many_pools_sections_suffix_counts():
    r = parse_zpool_status(MULTI)
    assert [p.name for p in r.pools] == ["tank", "zroot"]
    tank, zroot = r.pools
    assert (tank.scan.kind, tank.scan.state) == ("scrub", "canceled")
    assert tank.vdevs[0].children[0].read == 2785  # 2.72K, 1024-based
    assert [v.name for v in tank.logs] == ["ada2"] and [v.name for v in tank.cache] == ["ada3"]
    assert [(v.name, v.state, v.read, v.note) for v in tank.spares] == [
        ("ada4", "AVAIL", None, None), ("ada5", "INUSE", None, "currently in use"),
    ]  # fmt: skip
    assert tank.error_count == 3
    assert (zroot.scan.kind, zroot.scan.state, zroot.scan.errors) == ("scrub", "finished", 0)
    assert zroot.scan.repaired_bytes == 0 and r.parse_errors == ()


def test_all_pools_healthy_message():
    r = parse_zpool_status("all pools are healthy\n")
    assert r.pools == () and r.messages == ("all pools are healthy",)


def test_zpool_list_hp_samples():
    r = parse_zpool_list(read("zpool-list-Hp__telegraf-freebsd14-zroot-online.txt"), HP_COLUMNS)
    (p,) = r.pools
    assert (p.name, p.health, p.size, p.alloc, p.free, p.frag_pct, p.cap_pct) == (
        "zroot", "ONLINE", 67108864000, 11959578624, 55149285376, 4, 17,
    )  # fmt: skip
    assert p.dedup_ratio == 1.0 and p.exact is True

    r = parse_zpool_list(read("zpool-list-Hp__telegraf-freenas-4pools.txt"), HP_COLUMNS)
    assert [p.name for p in r.pools] == ["freenas-boot", "red1", "temp1", "temp2"]
    assert {p.health for p in r.pools} == {"ONLINE"}
    assert [p.frag_pct for p in r.pools] == [None, 8, 38, 12]
    assert r.pools[1].dedup_ratio == 1.83 and r.pools[1].size == 8933531975680

    r = parse_zpool_list(read("zpool-list-Hp__telegraf-unavail-pool.txt"), HP_COLUMNS)
    (p,) = r.pools
    assert (p.name, p.health, p.size, p.frag_pct, p.cap_pct) == (
        "temp2",
        "UNAVAIL",
        None,
        None,
        None,
    )
    assert r.parse_errors == ()


def test_zpool_list_hp_without_columns_reports_shape():
    r = parse_zpool_list(read("zpool-list-Hp__telegraf-freebsd14-zroot-online.txt"))
    assert r.pools[0].name == "zroot" and r.pools[0].health is None
    assert r.parse_errors == ("line 1: 8 fields, expected 11",)


def test_zpool_list_verbose_header():
    r = parse_zpool_list(read("zpool-list__freebsd-v-mirror-ckpoint.txt"))
    (p,) = r.pools
    assert (p.name, p.health, p.frag_pct, p.cap_pct, p.dedup_ratio, p.altroot) == (
        "zvol0", "ONLINE", 5, 82, 1.0, None,
    )  # fmt: skip
    assert p.size == round(1.81 * 1024**4) and p.exact is False
    assert [(v.name, v.depth, v.cap_pct, v.health) for v in p.vdevs] == [
        ("mirror-0", 1, 82.1, "ONLINE"), ("gpt/sdisk1", 2, None, "ONLINE"),
        ("gpt/ndisk1", 2, None, "ONLINE"),
    ]  # fmt: skip


def test_zpool_list_json():
    (p,) = parse_zpool_list(read("zpool-list-json__openzfs-man-zpool-list-j.txt")).pools
    assert (p.name, p.health, p.frag_pct, p.cap_pct, p.dedup_ratio) == (
        "tank",
        "ONLINE",
        0,
        27,
        1.0,
    )
    assert p.size == 111 * 1024**3 and p.ckpoint is None
