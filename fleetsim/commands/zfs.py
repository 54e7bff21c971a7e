"""zfs list|get|snapshot|create|clone|destroy|set, with OpenZFS 2.2's messages.

Datasets are ``host["datasets"]`` rows ``[name, used, refer, mountpoint]`` (tree order)
plus ``host["zprops"][name]`` for what was set (quota, origin of a clone); snapshots are
``host["snapshots"]`` rows ``[name, creation, used, refer]``."""

from __future__ import annotations

import re

from .fmt import ALIASES, table
from .registry import command, usage

SNAP_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")


def _avail(host: dict, name: str) -> int:
    pool = next(p for p in host["pools"] if p["name"] == name.split("/")[0].split("@")[0])
    return int((pool["size"] - pool["alloc"]) * 0.96)


def props(host: dict, name: str) -> dict:
    return host.get("zprops", {}).get(name, {})


def fs_rows(host: dict) -> list[dict]:
    rows = []
    for name, used, refer, mnt in host["datasets"]:
        quota = props(host, name).get("quota", 0)
        avail = _avail(host, name)
        if quota:
            avail = max(0, min(avail, quota - used))
        rows.append(
            {
                "name": name,
                "used": used,
                "available": avail,
                "referenced": refer,
                "mountpoint": mnt,
                "type": "filesystem",
                "creation": props(host, name).get("creation", host["boot_time"] - 86400 * 300),
                "usedsnap": 0,
                "usedds": refer,
                "quota": quota,
                "origin": props(host, name).get("origin", "-"),
                "mounted": "yes" if mnt.startswith("/") else "no",
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
            "origin": None,
            "mounted": None,
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
    if verb in ("create", "clone"):
        return zfs_create(ctx, verb, rest)
    if verb == "destroy":
        return zfs_destroy(ctx, rest)
    if verb == "set":
        return zfs_set(ctx, rest)
    if verb == "get":
        return zfs_get(ctx, rest)
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


UNITS = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
NUM_RE = re.compile(r"^(\d+(?:\.\d+)?)([BKMGTPE]?)(?:B|iB)?$", re.I)
SETTABLE = {"quota", "mountpoint", "readonly", "compression", "atime", "canmount"}
NAME_RE = re.compile(r"^[A-Za-z0-9_.:/-]+$")


def nicestrtonum(value: str) -> int | None:
    """zfs_nicestrtonum(): `10G` -> bytes; None when it is not a number."""
    m = NUM_RE.match(value)
    if not m:
        return None
    return int(float(m.group(1)) * 1024 ** UNITS[m.group(2).upper()])


def _set_prop(host: dict, name: str, key: str, value: str, verb: str) -> str | None:
    """Apply one property; the error text after `cannot VERB 'NAME': ` or None."""
    if key not in SETTABLE:
        return f"invalid property '{key}'"
    zp = host.setdefault("zprops", {}).setdefault(name, {})
    if key == "quota":
        number = 0 if value == "none" else nicestrtonum(value)
        if number is None:
            return f"bad numeric value '{value}'"
        used = next((d[1] for d in host["datasets"] if d[0] == name), 0)
        if number and number < used and verb == "set property for":
            return "size is less than current used or reserved space"
        zp["quota"] = number
    elif key == "mountpoint":
        if value not in ("none", "legacy") and not value.startswith("/"):
            return "'mountpoint' must be an absolute path, 'none', or 'legacy'"
        for d in host["datasets"]:
            if d[0] == name:
                d[3] = value
    else:
        zp[key] = value
    return None


def _tree_insert(host: dict, row: list) -> None:
    """Insert a dataset after its parent's subtree, keeping `zfs list` in tree order."""
    rows = host["datasets"]
    parent = row[0].rsplit("/", 1)[0]
    at = len(rows)
    for i, d in enumerate(rows):
        if d[0] == parent or d[0].startswith(parent + "/"):
            at = i + 1
    rows.insert(at, row)


def zfs_create(ctx, verb: str, rest: list[str]):
    """`zfs create [-p] [-o k=v]... DS` and `zfs clone [-p] [-o k=v]... SNAP DS`."""
    host, opts, names, parents, i = ctx.host, [], [], False, 0
    while i < len(rest):
        if rest[i] == "-o" and i + 1 < len(rest):
            opts.append(rest[i + 1])
            i += 2
            continue
        if rest[i] == "-p":
            parents = True
        elif rest[i].startswith("-"):
            return usage(f"invalid option '{rest[i][1:2]}'", 2)
        else:
            names.append(rest[i])
        i += 1
    want = 2 if verb == "clone" else 1
    if len(names) != want:
        return usage(
            "usage:\n\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>"
            if verb == "clone"
            else "usage:\n\tcreate [-Pnpuv] [-o property=value] ... <filesystem>",
            2,
        )
    target = names[-1]
    datasets = {d[0]: d for d in host["datasets"]}
    origin = None
    if verb == "clone":
        origin = next((s for s in host["snapshots"] if s[0] == names[0]), None)
        if origin is None:
            return usage(f"cannot open '{names[0]}': dataset does not exist")
    pool = target.split("/")[0]
    if not NAME_RE.match(target) or "@" in target:
        return usage(f"cannot create '{target}': invalid character in name")
    if pool not in {p["name"] for p in host["pools"]}:
        return usage(f"cannot create '{target}': no such pool '{pool}'")
    if target in datasets:
        return usage(f"cannot create '{target}': dataset already exists")
    parent = target.rsplit("/", 1)[0]
    missing = []
    while parent not in datasets and "/" in parent:
        missing.append(parent)
        parent = parent.rsplit("/", 1)[0]
    if missing and not parents:
        return usage(f"cannot create '{target}': parent does not exist")
    kv = [o.split("=", 1) for o in opts]
    for pair in kv:
        if len(pair) != 2:
            return usage(f"cannot create '{target}': missing '=' for property '{pair[0]}'", 2)
    for k, v in kv:  # validate before creating anything
        probe = {"datasets": [], "zprops": {}}
        error = _set_prop(probe, target, k, v, "create")
        if error:
            return usage(f"cannot create '{target}': {error}")
    for name in [*reversed(missing), target]:
        up = name.rsplit("/", 1)[0]
        up_mnt = next((d[3] for d in host["datasets"] if d[0] == up), "none")
        mnt = f"{up_mnt.rstrip('/')}/{name.rsplit('/', 1)[1]}" if up_mnt.startswith("/") else up_mnt
        refer = origin[3] if origin is not None and name == target else 98304
        _tree_insert(host, [name, 98304 if origin is None else 8192, refer, mnt])
        host.setdefault("zprops", {})[name] = {"creation": int(ctx.now)}
    if origin is not None:
        host["zprops"][target]["origin"] = origin[0]
    for k, v in kv:
        _set_prop(host, target, k, v, "create")
    ctx.write()
    return "", "", 0


def _busy(ctx, mountpoint: str) -> bool:
    """A running jail lives under the mountpoint: unmount fails with EBUSY."""
    if not mountpoint.startswith("/"):
        return False
    return any(
        j["running"] and (j["path"] == mountpoint or j["path"].startswith(mountpoint + "/"))
        for j in ctx.host["jails"]
    )


def zfs_destroy(ctx, rest: list[str]):
    """`zfs destroy [-fnprRv] DS|DS@SNAP` with libzfs' refusals."""
    host = ctx.host
    flags = "".join(a[1:] for a in rest if a.startswith("-"))
    names = [a for a in rest if not a.startswith("-")]
    if len(names) != 1:
        return usage(
            "usage:\n\tdestroy [-fnpRrv] <filesystem|volume>\n"
            "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]",
            2,
        )
    target = names[0]
    recursive, dependents = "r" in flags or "R" in flags, "R" in flags
    clones = {n: p.get("origin") for n, p in host.get("zprops", {}).items() if p.get("origin")}
    if "@" in target:
        ds, _, snap = target.partition("@")
        if ds not in {d[0] for d in host["datasets"]}:
            return usage(f"cannot open '{ds}': dataset does not exist")
        hits = [s for s in host["snapshots"] if s[0] == target]
        if recursive:
            hits = [
                s
                for s in host["snapshots"]
                if s[0].split("@")[1] == snap
                and (s[0].split("@")[0] == ds or s[0].startswith(ds + "/"))
            ]
        if not hits:
            return usage("could not find any snapshots to destroy; check snapshot names.")
        dependent = sorted(n for n, o in clones.items() if o in {s[0] for s in hits})
        if dependent and not dependents:
            return usage(
                f"cannot destroy '{target}': snapshot has dependent clones\n"
                "use '-R' to destroy the following datasets:\n" + "\n".join(dependent)
            )
        for n in dependent:
            error = _destroy_fs(ctx, n, clones)
            if error:
                return usage(error)
        host["snapshots"] = [s for s in host["snapshots"] if s not in hits]
        ctx.write()
        return "", "", 0
    if target not in {d[0] for d in host["datasets"]}:
        return usage(f"cannot open '{target}': dataset does not exist")
    if "/" not in target:
        return usage(
            f"cannot destroy '{target}': operation does not apply to pools\n"
            f"use 'zfs destroy -r {target}' to destroy all datasets in the pool\n"
            f"use 'zpool destroy {target}' to destroy the pool itself"
        )
    below = [d[0] for d in host["datasets"] if d[0].startswith(target + "/")]
    snaps = [s[0] for s in host["snapshots"] if s[0].split("@")[0] in {target, *below}]
    if (below or snaps) and not recursive:
        return usage(
            f"cannot destroy '{target}': filesystem has children\n"
            "use '-r' to destroy the following datasets:\n" + "\n".join(below + snaps)
        )
    dependent = sorted(n for n, o in clones.items() if o in snaps and n != target)
    dependent = [n for n in dependent if not n.startswith(target + "/")]
    if dependent and not dependents:
        return usage(
            f"cannot destroy '{target}': filesystem has dependent clones\n"
            "use '-R' to destroy the following datasets:\n" + "\n".join(dependent)
        )
    for n in [*dependent, *reversed(below), target]:
        error = _destroy_fs(ctx, n, clones)
        if error:
            return usage(error)
    ctx.write()
    return "", "", 0


def _destroy_fs(ctx, name: str, clones: dict) -> str | None:
    host = ctx.host
    row = next((d for d in host["datasets"] if d[0] == name), None)
    if row is None:
        return None
    if _busy(ctx, row[3]):
        return f"cannot unmount '{row[3]}': pool or dataset is busy"
    host["datasets"].remove(row)
    host["snapshots"] = [s for s in host["snapshots"] if s[0].split("@")[0] != name]
    host.get("zprops", {}).pop(name, None)
    return None


def zfs_set(ctx, rest: list[str]):
    """`zfs set prop=value... DS`"""
    if len(rest) < 2 or "=" not in rest[0]:
        return usage("usage:\n\tset <property=value> ... <filesystem|volume|snapshot> ...", 2)
    *pairs, name = rest
    host = ctx.host
    if name not in {d[0] for d in host["datasets"]}:
        return usage(f"cannot open '{name}': dataset does not exist")
    for pair in pairs:
        key, _, value = pair.partition("=")
        error = _set_prop(host, name, key, value, "set property for")
        if error:
            return usage(f"cannot set property for '{name}': {error}")
    ctx.write()
    return "", "", 0


def zfs_get(ctx, rest: list[str]):
    """`zfs get [-H] [-p] [-o field,...] prop[,prop] DS...`"""
    fields, flags, words, i = ["name", "property", "value", "source"], "", [], 0
    while i < len(rest):
        if rest[i] == "-o" and i + 1 < len(rest):
            fields = rest[i + 1].split(",")
            i += 2
            continue
        if rest[i].startswith("-"):
            flags += rest[i][1:]
        else:
            words.append(rest[i])
        i += 1
    if len(words) < 2:
        return usage(
            'usage:\n\tget [-rHp] [-d max] [-o "all" | field[,...]] '
            '[-t type[,...]] [-s source[,...]]\n\t    <"all" | property[,...]> '
            "[filesystem|volume|snapshot|bookmark] ...",
            2,
        )
    wanted, names = words[0].split(","), words[1:]
    rows = {r["name"]: r for r in fs_rows(ctx.host) + snap_rows(ctx.host)}
    lines = []
    for n in names:
        row = rows.get(n)
        if row is None:
            return usage(f"cannot open '{n}': dataset does not exist")
        for prop in wanted:
            key = ALIASES.get(prop, prop)
            if key not in row:
                return usage(f"bad property list: invalid property '{prop}'", 2)
            value = table([row], [prop], True, "p" in flags, "zfs")[0].strip("\n")
            source = "local" if key in props(ctx.host, n) else "-"
            cells = {"name": n, "property": prop, "value": value, "source": source}
            lines.append([cells[f] for f in fields])
    if "H" in flags:
        return "".join("\t".join(c) + "\n" for c in lines), "", 0
    header = [f.upper() for f in fields]
    widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=False)]
    out = [
        "  ".join(f"{v:<{w}}" for v, w in zip(r, widths, strict=True)).rstrip() + "\n"
        for r in [header, *lines]
    ]
    return "".join(out), "", 0
