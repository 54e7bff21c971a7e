"""gmirror status / list."""

from __future__ import annotations

from hosts.freebsd import parse_gmirror_list, parse_gmirror_status

from .samples import read


def _comps(mirror):
    return [(c.name, c.state, c.progress) for c in mirror.components]


def test_handbook_complete():
    (m,) = parse_gmirror_status(read("gmirror-status__handbook-complete-2-disks.txt")).mirrors
    assert (m.name, m.status) == ("gm0", "COMPLETE")
    assert _comps(m) == [("ada1", "ACTIVE", None), ("ada0", "ACTIVE", None)]


def test_handbook_degraded_synchronizing_with_typo_prefix():
    r = parse_gmirror_status(read("gmirror-status__handbook-degraded-synchronizing-64pct.txt"))
    (m,) = r.mirrors
    assert (m.name, m.status, m.provider) == ("gm0", "DEGRADED", "girror/gm0")
    assert _comps(m) == [("ada1", "ACTIVE", None), ("ada0", "SYNCHRONIZING", 64)]
    assert r.parse_errors == ()


def test_efi_duplicate_component_names_are_kept():
    (m,) = parse_gmirror_status(read("gmirror-status__efi-mirror-complete.txt")).mirrors
    assert (m.name, m.status) == ("efi", "COMPLETE")
    assert _comps(m) == [("da0p1", "ACTIVE", None), ("da0p1", "ACTIVE", None)]


def test_old_format_five_mirrors_without_component_state():
    r = parse_gmirror_status(read("gmirror-status__old-format-5-mirrors-no-component-state.txt"))
    assert [m.name for m in r.mirrors] == ["gm0-root", "gm0-var", "gm0-tmp", "gm0-usr", "gm0-home"]
    assert all(m.status == "COMPLETE" for m in r.mirrors)
    assert [[c.name for c in m.components] for m in r.mirrors][1] == ["ad0p4", "ad4p4"]
    assert all(c.state is None and c.progress is None for m in r.mirrors for c in m.components)


def test_script_mode_repeats_name():
    text = (
        "mirror/gm0  DEGRADED  ada0 (ACTIVE)\n"
        "mirror/gm0  DEGRADED  ada1 (SYNCHRONIZING, 5%)\n"
        "mirror/gm1  COMPLETE  ada2 (ACTIVE)\n"
    )
    r = parse_gmirror_status(text)
    assert [(m.name, len(m.components)) for m in r.mirrors] == [("gm0", 2), ("gm1", 1)]
    assert r.mirrors[0].components[1].progress == 5


GMIRROR_LIST = """\
Geom name: gm0
State: DEGRADED
Components: 2
Balance: load
Slice: 4096
Flags: NONE
GenID: 0
SyncID: 1
ID: 3362720654
Type: AUTOMATIC
Providers:
1. Name: mirror/gm0
   Mediasize: 1000204885504 (932G)
   Sectorsize: 512
   Mode: r5w5e6
Consumers:
1. Name: ada0
   Mediasize: 1000204886016 (932G)
   Sectorsize: 512
   Mode: r1w1e1
   State: ACTIVE
   Priority: 0
   Flags: DIRTY
   GenID: 0
   SyncID: 1
   ID: 949692477
2. Name: ada1
   Mediasize: 1000204886016 (932G)
   Sectorsize: 512
   Mode: r1w1e1
   State: SYNCHRONIZING
   Priority: 1
   Flags: DIRTY, SYNCHRONIZING
   GenID: 0
   SyncID: 1
   Synchronized: 8%
   ID: 3998758055
"""  # layout of geom(8) list / g_mirror_dumpconf (constructed, not a captured sample)


def test_gmirror_list():
    r = parse_gmirror_list(GMIRROR_LIST)
    (m,) = r.mirrors
    assert (m.name, m.state, m.components_count, m.balance, m.flags) == (
        "gm0", "DEGRADED", 2, "load", (),
    )  # fmt: skip
    assert m.providers == ("mirror/gm0",)
    assert [(c.name, c.state, c.flags, c.synchronized_pct) for c in m.components] == [
        ("ada0", "ACTIVE", ("DIRTY",), None),
        ("ada1", "SYNCHRONIZING", ("DIRTY", "SYNCHRONIZING"), 8),
    ]
    assert m.components[0].mediasize == 1000204886016
    assert r.parse_errors == ()
    d = r.to_dict()["mirrors"][0]
    assert set(d) >= {"name", "state", "components_count", "balance", "components"}


def test_gmirror_list_garbage_is_reported():
    r = parse_gmirror_list("hello\nGeom name: gm1\nState: COMPLETE\n")
    assert r.mirrors[0].name == "gm1" and r.mirrors[0].components == ()
    assert r.parse_errors == ("line 1: text before the first 'Geom name:'",)
