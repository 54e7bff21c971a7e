"""Number and column formatting shared by `zfs` and `zpool` (zfs_nicenum, -H/-p tables).

Imports nothing from the command modules, so both can use it without a cycle."""

from __future__ import annotations

import time

from .registry import usage

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
    """zfs_nicenum_format(): an exact multiple of its unit has no decimals (`96K`, `10G`),
    anything else the most decimals (2..0) that fit in five characters (`1.49T`, `12.5G`)."""
    num = int(n)
    index = 0
    while num >= 1024 ** (index + 1) and index < 6:
        index += 1
    unit = "BKMGTPE"[index]
    if index == 0:
        return f"{num}B"
    base = 1024**index
    if num % base == 0:
        return f"{num // base}{unit}"
    for decimals in (2, 1, 0):
        text = f"{num / base:.{decimals}f}{unit}"
        if len(text) <= 5:
            return text
    return text


def fmt(value, parsable: bool, col: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return str(value[0]) if parsable else f"{value[0]}{value[1]}"
    if isinstance(value, str):
        return value
    if col in ("quota", "refquota", "reservation") and value == 0 and not parsable:
        return "none"
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
