"""The real captured samples in tests/fixtures/freebsd/ and the parser each belongs to."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "freebsd"

# Sample file prefix → (kind, columns). zpool/zfs -Hp samples were captured with these -o lists.
PREFIX_KIND = {
    "gmirror-status": ("gmirror-status", None),
    "haproxy-show-info": ("haproxy-info", None),
    "haproxy-show-servers-state": ("haproxy-servers-state", None),
    "haproxy-show-stat": ("haproxy-stat", None),
    "ifconfig-carp": ("ifconfig", None),
    "ifconfig-pfsync": ("ifconfig", None),
    "jls": ("jls", None),
    "jls-json": ("jls", None),
    "pfctl-si": ("pfctl-info", None),
    "rsync-error": ("rsync-stats", None),
    "rsync-stats": ("rsync-stats", None),
    "sysctl-carp": ("sysctl", None),
    "uname-a": ("uname", None),
    "zfs-list-Hp": ("zfs-list", ("name", "avail", "used", "usedsnap", "usedds")),
    "zpool-list": ("zpool-list", None),
    "zpool-list-Hp": (
        "zpool-list",
        ("name", "health", "size", "alloc", "free", "fragmentation", "capacity", "dedupratio"),
    ),
    "zpool-list-json": ("zpool-list", None),
    "zpool-status": ("zpool-status", None),
    "zpool-status-json": ("zpool-status", None),
}


def all_samples() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.txt"))


def read(name: str) -> str:
    # newline="" keeps the bytes as captured (no universal-newline translation).
    with open(FIXTURES / name, encoding="utf-8", newline="") as fh:
        return fh.read()


def kind_of(name: str) -> tuple[str, tuple[str, ...] | None]:
    return PREFIX_KIND[name.split("__", 1)[0]]
