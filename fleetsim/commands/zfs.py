"""zfs list|snapshot|get and the column printer shared with `zpool list`."""

from __future__ import annotations

import re
import time

from .fmt import nice
from .registry import command, usage

ALIASES = {
    "refer": "referenced",
    "avail": "available",
    "capacity": "cap",
    "fragmentation": "frag",
    "allocated": "alloc",
    "dedupratio": "dedup",
}
LEFT = {"name", "mountpoint", "health", "type", "altroot"}
SNAP_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")


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


def _avail(host: dict, name: str) -> int:
    pool = next(p for p in host["pools"] if p["name"] == name.split("/")[0].split("@")[0])
    return int((pool["size"] - pool["alloc"]) * 0.96)


def fs_rows(host: dict) -> list[dict]:
    rows = []
    for name, used, refer, mnt in host["datasets"]:
        rows.append(
            {
                "name": name,
                "used": used,
                "available": _avail(host, name),
                "referenced": refer,
                "mountpoint": mnt,
                "type": "filesystem",
                "creation": host["boot_time"] - 86400 * 300,
                "usedsnap": 0,
                "usedds": refer,
                "quota": 0,
                "compressratio": ("1.42", "x"),
            }
        )
    return rows


def snap_rows(host: dict) -> list[dict]:
    return [
        {
            "name": n,
            "used": used,
            "available": None,
            "referenced": refer,
            "mountpoint": None,
            "type": "snapshot",
            "creation": created,
            "usedsnap": None,
            "usedds": None,
            "quota": None,
            "compressratio": ("1.42", "x"),
        }
        for n, created, used, refer in host["snapshots"]
    ]


@command("zfs")
def zfs(ctx, args, stdin):
    if not args:
        return usage("usage: zfs command args ...", 2)
    verb, rest = args[0], args[1:]
    if verb == "list":
        return zfs_list(ctx, rest)
    if verb == "snapshot":
        names = [a for a in rest if not a.startswith("-")]
        recursive = "-r" in rest
        if not names or "@" not in names[0]:
            return usage("usage: snapshot [-r] [-o property=value] ... <filesystem@snapname>", 2)
        return zfs_snapshot(ctx, names, recursive)
    return usage(f"unrecognized command '{verb}'", 2)


def zfs_list(ctx, rest: list[str]):
    cols, types, sort, rev, depth = (
        ["name", "used", "avail", "refer", "mountpoint"],
        {"filesystem"},
        None,
        False,
        None,
    )
    flags, names, i = "", [], 0
    while i < len(rest):
        a = rest[i]
        if a in ("-o", "-t", "-s", "-S", "-d") and i + 1 < len(rest):
            v = rest[i + 1]
            if a == "-o":
                cols = v.split(",")
            elif a == "-t":
                types = {{"snap": "snapshot", "fs": "filesystem"}.get(t, t) for t in v.split(",")}
            elif a in ("-s", "-S"):
                sort, rev = ALIASES.get(v, v), a == "-S"
            else:
                depth = int(v) if v.isdigit() else None
            i += 2
            continue
        if a.startswith("-"):
            flags += a[1:]
        else:
            names.append(a)
        i += 1
    if "all" in types:
        types = {"filesystem", "snapshot", "volume"}
    host = ctx.host
    rows = [r for r in fs_rows(host) + snap_rows(host) if r["type"] in types]
    known = {d[0] for d in host["datasets"]} | {s[0] for s in host["snapshots"]}
    for n in names:
        if n not in known:
            return usage(f"cannot open '{n}': dataset does not exist")
    if names:
        recursive = "r" in flags or depth is not None
        rows = [r for r in rows if any(_under(r["name"], n, recursive, depth) for n in names)]
    if sort:
        rows.sort(key=lambda r: (r.get(sort) is None, r.get(sort) or 0), reverse=rev)
    if not rows and names:
        return "", "", 0
    return table(rows, cols, "H" in flags, "p" in flags, "zfs")


def _under(name: str, root: str, recursive: bool, depth: int | None) -> bool:
    if name == root:
        return True
    if not recursive:
        return False
    if not (name.startswith(root + "/") or name.startswith(root + "@")):
        return False
    if depth is None:
        return True
    rel = name[len(root) :]
    return rel.count("/") + rel.count("@") <= depth


def zfs_snapshot(ctx, names: list[str], recursive: bool):
    host = ctx.host
    datasets = {d[0]: d for d in host["datasets"]}
    existing = {s[0] for s in host["snapshots"]}
    for full in names:
        ds, _, snap = full.partition("@")
        if ds not in datasets:
            return usage(f"cannot open '{ds}': dataset does not exist")
        if not SNAP_RE.match(snap):
            return usage(f"cannot create snapshot '{full}': invalid character in name")
        targets = [d for d in datasets if d == ds or (recursive and d.startswith(ds + "/"))]
        for d in targets:
            name = f"{d}@{snap}"
            if name in existing:
                return usage(f"cannot create snapshot '{name}': dataset already exists")
            host["snapshots"].append([name, int(ctx.now), 0, datasets[d][2]])
    ctx.write()
    return "", "", 0
