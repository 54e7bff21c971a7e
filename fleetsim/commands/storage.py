"""gmirror and zpool, in the shapes of geom(8) and OpenZFS 2.2 on FreeBSD 14."""

from __future__ import annotations

import hashlib
import time

from ..dynamics import start_resilver
from ..vfs import View
from .fmt import nice, table
from .registry import command, usage

BAD = ("FAULTED", "UNAVAIL", "REMOVED", "OFFLINE")


# --- gmirror ----------------------------------------------------------------------------


def mirror_state(m: dict) -> str:
    present = [c for c in m["components"] if c["present"]]
    if not present:
        return "STARTING"
    if len(present) < m["configured"] or any(c["state"] != "ACTIVE" for c in present):
        return "DEGRADED"
    return "COMPLETE"


def comp_label(c: dict) -> str:
    if c["state"] == "SYNCHRONIZING":
        return f"{c['disk']} (SYNCHRONIZING, {int(c['pct'])}%)"
    return f"{c['disk']} ({c['state']})"


def gmirror_status(mirrors: list, script: bool) -> str:
    rows = []
    for m in mirrors:
        comps = [comp_label(c) for c in m["components"] if c["present"]] or [""]
        for k, comp in enumerate(comps):
            first = script or k == 0
            rows.append(
                (f"mirror/{m['name']}" if first else "", mirror_state(m) if first else "", comp)
            )
    if not rows:
        return ""
    header = [] if script else [("Name", "Status", "Components")]
    nw = max(len(r[0]) for r in rows + header)
    sw = max(len(r[1]) for r in rows + header)
    return "".join(f"{a:>{nw}}  {b:>{sw}}  {c}".rstrip() + "\n" for a, b, c in header + rows)


def _human(n: int) -> str:
    for unit in ("", "K", "M", "G", "T"):
        if n < 1024:
            return f"{n}{unit}" if unit == "" else f"{n:.0f}{unit}"
        n /= 1024
    return f"{n:.0f}P"


def gmirror_list(mirrors: list) -> str:
    out = []
    for m in mirrors:
        present = [c for c in m["components"] if c["present"]]
        size = m["size"]
        out += [
            f"Geom name: {m['name']}",
            f"State: {mirror_state(m)}",
            f"Components: {m['configured']}",
            f"Balance: {m['balance']}",
            "Slice: 4096",
            "Flags: NONE",
            "GenID: 0",
            "SyncID: 1",
            f"ID: {m['id']}",
            "Type: AUTOMATIC",
            "Providers:",
            f"1. Name: mirror/{m['name']}",
            f"   Mediasize: {size} ({_human(size)})",
            "   Sectorsize: 512",
            "   Stripesize: 4096",
            "   Stripeoffset: 0",
            "   Mode: r1w1e1",
            "Consumers:",
        ]
        for k, c in enumerate(present, 1):
            syncing = c["state"] == "SYNCHRONIZING"
            out += [
                f"{k}. Name: {c['disk']}",
                f"   Mediasize: {size + 512} ({_human(size)})",
                "   Sectorsize: 512",
                "   Stripesize: 4096",
                "   Stripeoffset: 0",
                "   Mode: r1w1e1",
                f"   State: {c['state']}",
                f"   Priority: {k - 1}",
                f"   Flags: {'DIRTY, SYNCHRONIZING' if syncing else 'NONE'}",
                "   GenID: 0",
                "   SyncID: 1",
            ]
            if syncing:
                out.append(f"   Synchronized: {int(c['pct'])}%")
            out.append(f"   ID: {c['id']}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


@command("gmirror")
def gmirror(ctx, args, stdin):
    mirrors = ctx.host["mirrors"]
    if not args:
        return usage("usage: gmirror label [-Fhnv] [-b balance] [-s slicesize] name prov ...")
    verb, rest = args[0], [a for a in args[1:] if not a.startswith("-")]
    opts = [a for a in args[1:] if a.startswith("-")]
    if verb in ("status", "list"):
        chosen = [
            m for m in mirrors if not rest or m["name"] in rest or f"mirror/{m['name']}" in rest
        ]
        if rest and not chosen:
            return usage(f"gmirror: No such geom: {rest[0]}.")
        if verb == "status":
            return gmirror_status(chosen, any("s" in o for o in opts)), "", 0
        return gmirror_list(chosen), "", 0
    if verb not in ("remove", "insert", "forget", "rebuild", "activate", "deactivate"):
        return usage(f"gmirror: Unknown command: {verb}.")
    if not rest:
        return usage(
            "gmirror: Missing device(s)." if verb == "forget" else "gmirror: Too few arguments."
        )
    m = next((x for x in mirrors if x["name"] == rest[0]), None)
    if m is None:
        return usage(f"gmirror: No such device: {rest[0]}.")
    if verb == "forget":
        for name in rest:
            mm = next((x for x in mirrors if x["name"] == name), None)
            if mm is None:
                return usage(f"gmirror: No such device: {name}.")
            mm["components"] = [c for c in mm["components"] if c["present"]]
            mm["configured"] = len(mm["components"])
        ctx.write()
        return "", "", 0
    if len(rest) < 2:
        return usage("gmirror: Too few arguments.")
    if (
        verb in ("insert", "remove")
        and len([c for c in m["components"] if c["present"]]) < m["configured"]
    ):
        # g_mirror_ctl_insert/remove: a disconnected component must be forgotten first
        return usage("gmirror: Not all disks connected.")
    errors = []
    for prov in rest[1:]:
        err = _gmirror_one(ctx, m, verb, prov.removeprefix("/dev/"))
        if err:
            errors.append(err)
    if not m["components"]:
        mirrors.remove(m)  # the last component gone: the mirror device goes away too
    ctx.write()
    if errors:
        return usage(f"gmirror: {errors[0]}")
    return "", "", 0


def in_use(host: dict) -> set[str]:
    """Providers some geom or pool holds: mirror components, pool devices, mounts."""
    used = {c["disk"] for m in host["mirrors"] for c in m["components"] if c["present"]}
    for p in host["pools"]:
        for v in p["vdevs"]:
            for d in v["devices"]:
                used.add(d["name"])
                if d.get("new"):
                    used.add(d["new"]["name"])
    used |= {mt["dev"].removeprefix("/dev/") for mt in host.get("mounts", [])}
    return used


def provider_exists(ctx, prov: str) -> bool:
    """A partition of one of the host's disks, whose disk has not failed."""
    if any(
        prov == f["args"][0] or prov.startswith(f["args"][0])
        for f in ctx.fleet.host_faults(ctx.name, "disk-fail")
    ):
        return False
    return any(prov == d or prov.startswith(d + "p") for d in ctx.host.get("disks", []))


def _gmirror_one(ctx, m: dict, verb: str, prov: str) -> str | None:
    """One provider of insert/remove/rebuild/activate/deactivate: g_mirror_ctl.c's errors."""
    host = ctx.host
    comp = next((c for c in m["components"] if c["disk"] == prov and c["present"]), None)
    if verb == "insert":
        if comp is not None:
            return f"Provider {prov} already inserted."
        if not provider_exists(ctx, prov) or prov in in_use(host):
            return f"Unknown provider {prov}."
        m["components"] = [c for c in m["components"] if c["disk"] != prov]
        m["components"].append(
            {
                "disk": prov,
                "state": "SYNCHRONIZING",
                "pct": 0.0,
                "present": True,
                "id": int.from_bytes(hashlib.sha256(prov.encode()).digest()[:4], "big"),
            }
        )
        m["configured"] += 1
        host.get("free", {}).pop(prov, None)
        ctx.fleet.log(ctx.name, f"GEOM_MIRROR: Device {m['name']}: rebuilding provider {prov}.")
        return None
    if comp is None:
        return f"No such provider: {prov}."
    active = [c for c in m["components"] if c["present"] and c["state"] == "ACTIVE"]
    if verb == "remove":
        if active == [comp]:
            # kept from earlier fleetsim: taking the last good copy away is refused
            return f"Provider {prov} is the last active provider in {m['name']}."
        m["components"].remove(comp)
        m["configured"] -= 1
        # what stays on the disk is a copy of the mirror's file system, not cleanly
        # unmounted: the clone workflow fsck's and mounts it
        host.setdefault("free", {})[prov] = {"fs": m.get("fs", "ufs"), "clean": False}
        ctx.fleet.log(ctx.name, f"GEOM_MIRROR: Device {m['name']}: provider {prov} destroyed.")
    elif verb == "rebuild":
        if active == [comp]:
            return f"Provider {prov} is the last active provider in {m['name']}."
        comp.update(state="SYNCHRONIZING", pct=0.0)
    return None


# --- fsck and mount (the clone workflow) ------------------------------------------------


def _ufs_numbers(dev: str) -> tuple[int, int, int, int, int]:
    h = int.from_bytes(hashlib.sha256(dev.encode()).digest()[:8], "big")
    files = 20000 + h % 400000
    used = files * (30 + h % 40)
    frags = h % 5000
    blocks = 200000 + h % 3000000
    return files, used, frags, blocks, frags + blocks * 8


@command("fsck_ufs", "fsck_ffs", "fsck")
def fsck(ctx, args, stdin):
    """`fsck_ufs -p DEV` / `fsck -t ufs -p DEV`: preen a free UFS provider."""
    devs = [a for i, a in enumerate(args) if not a.startswith("-") and args[i - 1 : i] != ["-t"]]
    if not devs:
        return usage(
            "usage: fsck_ffs [-BCdEFfnpRrSyZ] [-b block] [-c level] [-m mode] filesystem ..."
        )
    out, rc = [], 0
    for dev in devs:
        name = dev.removeprefix("/dev/")
        free = ctx.host.get("free", {}).get(name)
        if free is None:
            busy = name in in_use(ctx.host)
            why = "Operation not permitted" if busy else "No such file or directory"
            out.append(f"Can't open {dev}: {why}\n")
            rc = 8
            continue
        if free["fs"] != "ufs":
            out.append(f"{dev}: CANNOT FIGURE OUT FILE SYSTEM PARTITION\n")
            rc = 8
            continue
        files, used, frags, blocks, nfree = _ufs_numbers(name)
        tail = f"({frags} frags, {blocks} blocks, 0.{frags % 10}% fragmentation)\n"
        if free["clean"]:
            out.append(
                f"{dev}: FILE SYSTEM CLEAN; SKIPPING CHECKS\n{dev}: clean, {nfree} free {tail}"
            )
        else:
            out.append(f"{dev}: {files} files, {used} used, {nfree} free {tail}")
            free["clean"] = True
            ctx.write()
    return "".join(out), "", rc


@command("mount")
def mount(ctx, args, stdin):
    host = ctx.host
    words = [
        a
        for i, a in enumerate(args)
        if not a.startswith("-") and args[i - 1 : i] not in (["-t"], ["-o"])
    ]
    if not words:
        lines = [
            f"{mt['dev']} on {mt['point']} (ufs, local, soft-updates)\n"
            for mt in host.get("mounts", [])
        ]
        return "".join(lines), "", 0
    if len(words) != 2:
        return usage(
            "usage: mount [-adflpruvw] [-F fstab] [-o options] [-t ufs | external_type]\n"
            "       mount [-dfpruvw] special | node"
        )
    dev, point = words
    name = dev.removeprefix("/dev/")
    free = host.get("free", {}).get(name)
    if free is None:
        why = "Operation not permitted" if name in in_use(host) else "No such file or directory"
        return usage(f"mount: {dev}: {why}")
    if any(mt["dev"] == dev for mt in host.get("mounts", [])):
        return usage(f"mount: {dev}: Device busy")
    if not View(ctx.fleet, ctx.name).is_dir(point):
        return usage(f"mount: {point}: No such file or directory")
    if free["fs"] != "ufs":
        return usage(f"mount: {dev}: Invalid argument")
    if not free["clean"] and "-r" not in args and "ro" not in " ".join(args):
        return usage(
            f"mount: {dev}: R/W mount of {point} denied. Filesystem is not clean - run fsck.: "
            "Operation not permitted"
        )
    host.setdefault("mounts", []).append({"dev": dev, "point": point, "fs": "ufs"})
    ctx.write()
    return "", "", 0


@command("umount")
def umount(ctx, args, stdin):
    host = ctx.host
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return usage(
            "usage: umount [-fNnv] [-t fstypelist] special ... | node ...\n"
            "       umount -a | -A [-F fstab] [-fnv] [-h host] [-t type]",
            1,
        )
    err = []
    for w in words:
        mt = next((x for x in host.get("mounts", []) if w in (x["point"], x["dev"])), None)
        if mt is None:
            err.append(f"umount: {w}: not a file system root directory\n")
            continue
        host["mounts"].remove(mt)
    ctx.write()
    return "", "".join(err), 1 if err else 0


# --- zpool ------------------------------------------------------------------------------


def dev_state(d: dict) -> str:
    """A device's state; one being replaced stands for its `replacing-N` vdev (like a
    mirror of the old and the new device, DEGRADED while the old one is bad)."""
    new = d.get("new")
    if not new:
        return d["state"]
    states = [d["state"], new["state"]]
    if all(s in BAD for s in states):
        return "UNAVAIL"
    return "DEGRADED" if any(s in BAD for s in states) else "ONLINE"


def vdev_state(v: dict) -> str:
    states = [dev_state(d) for d in v["devices"]]
    bad = sum(s in BAD or s == "UNAVAIL" for s in states)
    if bad == 0:
        return "DEGRADED" if "DEGRADED" in states else "ONLINE"
    tolerated = {"mirror": len(v["devices"]) - 1, "raidz1": 1, "raidz2": 2, "raidz3": 3}
    return "DEGRADED" if bad <= tolerated.get(v["type"], 0) else "UNAVAIL"


def pool_health(p: dict) -> str:
    states = [vdev_state(v) for v in p["vdevs"]]
    if "UNAVAIL" in states:
        return "UNAVAIL" if all(s == "UNAVAIL" for s in states) else "DEGRADED"
    return "DEGRADED" if "DEGRADED" in states else "ONLINE"


def ctime(t: float) -> str:
    return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(t))


def hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def scan_lines(p: dict, now: float) -> list[str]:
    s = p["scan"]
    if not s.get("running"):
        if s["kind"] == "resilver":
            return [
                f"  scan: resilvered {nice(p['alloc'] / 3)} in {hms(s['end'] - s['start'])} "
                f"with 0 errors on {ctime(s['end'])}"
            ]
        return [
            f"  scan: scrub repaired {nice(s.get('repaired', 0))} in "
            f"{hms(s['end'] - s['start'])} with {s.get('errors', 0)} errors on "
            f"{ctime(s['end'])}"
        ]
    total, pct = p["alloc"], s["pct"]
    done = total * pct / 100
    elapsed = max(1.0, now - s["start"])
    left = (total - done) / max(done / elapsed, 1)
    kind = "resilvered" if s["kind"] == "resilver" else "repaired"
    scanned = min(total, done * 1.04)
    return [
        f"  scan: {s['kind']} in progress since {ctime(s['start'])}",
        f"\t{nice(scanned)} / {nice(total)} scanned at {nice(scanned / elapsed)}/s, "
        f"{nice(done)} / {nice(total)} issued at {nice(done / elapsed)}/s",
        f"\t{nice(done if kind == 'resilvered' else 0)} {kind}, {pct:.2f}% done, {hms(left)} to go",
    ]


def pool_status(p: dict, now: float) -> str:
    health = pool_health(p)
    lines = [f"  pool: {p['name']}", f" state: {health}"]
    resilvering = p["scan"].get("running") and p["scan"]["kind"] == "resilver"
    if resilvering:
        lines += [
            "status: One or more devices is currently being resilvered.  The pool will",
            "\tcontinue to function, possibly in a degraded state.",
            "action: Wait for the resilver to complete.",
        ]
    elif health != "ONLINE":
        lines += [
            "status: One or more devices are faulted in response to persistent errors.",
            "\tSufficient replicas exist for the pool to continue functioning in a",
            "\tdegraded state.",
            "action: Replace the faulted device, or use 'zpool clear' to mark the device",
            "\trepaired.",
            "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-K4",
        ]
    elif any(d["cksum"] for v in p["vdevs"] for d in v["devices"]):
        lines += [
            "status: One or more devices has experienced an unrecoverable error.  An",
            "\tattempt was made to correct the error.  Applications are unaffected.",
            "action: Determine if the device needs to be replaced, and clear the errors",
            "\tusing 'zpool clear' or replace the device with 'zpool replace'.",
            "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-9P",
        ]
    lines += scan_lines(p, now)
    rows = [(0, p["name"], health, 0, 0, 0, "")]
    for k, v in enumerate(p["vdevs"]):
        depth = 2 if v["type"] == "stripe" else 4
        devs = []
        for i, d in enumerate(v["devices"]):
            if d.get("new"):
                # child ids count across the top-level vdev, as the kernel numbers them
                devs.append((depth, f"replacing-{i}", dev_state(d), 0, 0, 0, ""))
                for x in (d, d["new"]):
                    devs.append(
                        (
                            depth + 2,
                            x["name"],
                            x["state"],
                            x["read"],
                            x["write"],
                            x["cksum"],
                            _note(x),
                        )
                    )
                continue
            devs.append((depth, d["name"], d["state"], d["read"], d["write"], d["cksum"], _note(d)))
        if v["type"] != "stripe":
            rows.append((2, f"{v['type']}-{k}", vdev_state(v), 0, 0, 0, ""))
        rows += devs
    width = max(10, *(depth + len(name) for depth, name, *_ in rows))
    lines += [
        "config:",
        "",
        f"\t{'NAME':<{width}}  {'STATE':<8} {'READ':>5} {'WRITE':>5} {'CKSUM':>5}",
    ]
    for depth, name, state, r, w, c, note in rows:
        line = f"\t{'':{depth}}{name:<{width - depth}}  {state:<8} {r:>5} {w:>5} {c:>5}"
        lines.append(line + (f"  {note}" if note else ""))
    lines += ["", "errors: No known data errors"]
    return "\n".join(lines) + "\n"


def _note(d: dict) -> str:
    if d["state"] == "FAULTED":
        return "too many errors"
    return d.get("note", "")


@command("zpool")
def zpool(ctx, args, stdin):
    pools = ctx.host["pools"]
    if not args:
        return usage("usage: zpool command args ...", 2)
    verb = args[0]
    opts, names, cols = _opts(args[1:])
    chosen = [p for p in pools if not names or p["name"] in names]
    missing = [n for n in names if n not in {p["name"] for p in pools}]
    if missing and verb in ("status", "list", "scrub"):
        return usage(f"cannot open '{missing[0]}': no such pool")
    if verb == "status":
        if "x" in opts:
            bad = [p for p in chosen if pool_health(p) != "ONLINE"]
            if not bad:
                return "all pools are healthy\n", "", 0
            chosen = bad
        return "\n".join(pool_status(p, ctx.now) for p in chosen), "", 0
    if verb == "list":
        cols = cols or [
            "name",
            "size",
            "alloc",
            "free",
            "ckpoint",
            "expandsz",
            "frag",
            "cap",
            "dedup",
            "health",
            "altroot",
        ]
        rows = [_pool_row(p) for p in chosen]
        return table(rows, cols, "H" in opts, "p" in opts, "zpool")
    if verb == "scrub":
        for p in chosen:
            if p["scan"].get("running"):
                return usage(
                    f"cannot scrub {p['name']}: currently scrubbing; use 'zpool scrub "
                    "-s' to cancel current scrub"
                )
            p["scan"] = {"kind": "scrub", "running": True, "start": ctx.now, "pct": 0.0}
        ctx.write()
        return "", "", 0
    if verb == "replace":
        return zpool_replace(ctx, names)
    if verb == "online":
        for p in pools:
            for v in p["vdevs"]:
                for d in v["devices"]:
                    if d["name"] in names[1:] and d["state"] != "ONLINE":
                        d.update(state="ONLINE", note="(resilvering)")
                        start_resilver(p, ctx.now)
        ctx.write()
        return "", "", 0
    return usage(f"unrecognized command '{verb}'", 2)


def zpool_replace(ctx, names: list[str]):
    """`zpool replace POOL OLD NEW`: NEW resilvers beside OLD under `replacing-N`; when the
    resilver ends OLD is detached (dynamics.finish_replacing)."""
    if len(names) != 3:
        return usage("usage:\n\treplace [-fsw] [-o property=value] <pool> <device> [new-device]", 2)
    pool_name, old, new = (n.removeprefix("/dev/") for n in names)
    pool = next((p for p in ctx.host["pools"] if p["name"] == pool_name), None)
    if pool is None:
        return usage(f"cannot open '{pool_name}': no such pool")
    what = f"cannot replace {old} with {new}"
    dev = next(
        (d for v in pool["vdevs"] for d in v["devices"] if d["name"] == old and not d.get("new")),
        None,
    )
    if dev is None:
        return usage(f"{what}: no such device in pool")
    if not provider_exists(ctx, new):
        return usage(
            f"cannot open '{new}': no such device in /dev\n"
            "must be a full path or shorthand device name"
        )
    holder = next(
        (
            p["name"]
            for p in ctx.host["pools"]
            for v in p["vdevs"]
            for d in v["devices"]
            if new in (d["name"], (d.get("new") or {}).get("name"))
        ),
        None,
    )
    if holder is not None:
        return usage(
            "invalid vdev specification\nuse '-f' to override the following errors:\n"
            f"/dev/{new} is part of active pool '{holder}'"
        )
    if new in in_use(ctx.host):
        return usage(f"cannot open '/dev/{new}': Device busy\n{what}: {new} is busy")
    dev["new"] = {
        "name": new,
        "state": "ONLINE",
        "read": 0,
        "write": 0,
        "cksum": 0,
        "note": "(resilvering)",
    }
    start_resilver(pool, ctx.now)
    ctx.fleet.log(ctx.name, f"ZFS: vdev state changed, pool_guid={pool['name']} vdev={new}")
    ctx.write()
    return "", "", 0


def _pool_row(p: dict) -> dict:
    free = p["size"] - p["alloc"]
    return {
        "name": p["name"],
        "size": p["size"],
        "alloc": p["alloc"],
        "free": free,
        "ckpoint": None,
        "expandsz": None,
        "frag": (p["frag"], "%"),
        "cap": (p["alloc"] * 100 // p["size"], "%"),
        "dedup": ("1.00", "x"),
        "health": pool_health(p),
        "altroot": None,
    }


def _opts(args: list[str]) -> tuple[str, list[str], list[str]]:
    opts, names, cols, i = "", [], [], 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "-t", "-s", "-S", "-d"):
            if a == "-o" and i + 1 < len(args):
                cols = args[i + 1].split(",")
            elif i + 1 < len(args):
                opts += f"{a[1]}[{args[i + 1]}]"
            i += 2
            continue
        if a.startswith("-") and len(a) > 1:
            opts += a[1:]
        else:
            names.append(a)
        i += 1
    return opts, names, cols
