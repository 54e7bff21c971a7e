"""Number and column formatting shared by `zfs` and `zpool` (zfs_nicenum, -H/-p tables).

Imports nothing from the command modules, so both can use it without a cycle."""

from __future__ import annotations

import time

from .base import usage

ALIASES = {
    "refer": "referenced",
    "avail": "available",
    "capacity": "cap",
    "fragmentation": "frag",
    "allocated": "alloc",
    "dedupratio": "dedup",
}
LEFT = {"name", "mountpoint", "health", "type", "altroot"}


def nice(n: float) -> str:
    """zfs_nicenum: three significant digits and a unit, like `1.49T`, `641M`, `0B`."""
    for unit in ("B", "K", "M", "G", "T", "P"):
        if n < 1024:
            if unit == "B":
                return f"{int(n)}B"
            return f"{n:.2f}{unit}" if n < 10 else f"{n:.1f}{unit}" if n < 100 else f"{n:.0f}{unit}"
        n /= 1024
    return f"{n:.0f}E"


def fmt(value, parsable: bool, col: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return str(value[0]) if parsable else f"{value[0]}{value[1]}"
    if isinstance(value, str):
        return value
    if col == "creation":
        return (
            str(int(value)) if parsable else time.strftime("%a %b %e %k:%M %Y", time.gmtime(value))
        )
    return str(int(value)) if parsable else nice(value)


def table(rows: list[dict], cols: list[str], scripted: bool, parsable: bool, tool: str):
    keys = [ALIASES.get(c, c) for c in cols]
    for k, c in zip(keys, cols, strict=True):
        if rows and k not in rows[0]:
            return usage(f"bad property list: invalid property '{c}'", 2)
    cells = [[fmt(r[k], parsable, k) for k in keys] for r in rows]
    if scripted:
        return "".join("\t".join(c) + "\n" for c in cells), "", 0
    header = [c.upper() for c in cols]
    widths = [max(len(x) for x in [h] + [row[i] for row in cells]) for i, h in enumerate(header)]
    out = []
    for row in [header, *cells]:
        parts = [
            f"{v:<{w}}" if k in LEFT else f"{v:>{w}}"
            for v, w, k in zip(row, widths, keys, strict=True)
        ]
        out.append("  ".join(parts).rstrip() + "\n")
    return "".join(out), "", 0
