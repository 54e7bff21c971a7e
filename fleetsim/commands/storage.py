"""gmirror and zpool, in the shapes of geom(8) and OpenZFS 2.2 on FreeBSD 14."""

from __future__ import annotations

import time

from ..dynamics import start_resilver
from .fmt import nice
from .registry import command, usage
from .zfs import table

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
        return usage("gmirror: Device name not given.")
    m = next((x for x in mirrors if x["name"] == rest[0]), None)
    if m is None:
        return usage(f"gmirror: No such device: {rest[0]}.")
    if verb == "forget":
        m["components"] = [c for c in m["components"] if c["present"]]
        m["configured"] = len(m["components"])
        ctx.write()
        return "", "", 0
    if len(rest) < 2:
        return usage("gmirror: Too few arguments.")
    out = []
    for prov in rest[1:]:
        err = _gmirror_one(ctx, m, verb, prov.removeprefix("/dev/"))
        if err:
            return usage(err)
    ctx.write()
    return "".join(out), "", 0


def _gmirror_one(ctx, m: dict, verb: str, prov: str) -> str | None:
    comp = next((c for c in m["components"] if c["disk"] == prov and c["present"]), None)
    if verb == "insert":
        if comp is not None:
            return f"gmirror: Provider {prov} already inserted."
        failed = any(
            f["args"][0] == prov or prov.startswith(f["args"][0])
            for f in ctx.fleet.host_faults(ctx.name, "disk-fail")
        )
        if failed or not any(prov.startswith(d) for d in ctx.host.get("disks", [prov])):
            return f"gmirror: No such provider: {prov}."
        m["components"] = [c for c in m["components"] if c["disk"] != prov]
        m["components"].append(
            {
                "disk": prov,
                "state": "SYNCHRONIZING",
                "pct": 0.0,
                "present": True,
                "id": abs(hash(prov)) % 4294967295,
            }
        )
        m["configured"] = max(m["configured"], len(m["components"]))
        return None
    if comp is None:
        return f"gmirror: No such provider: {prov}."
    active = [c for c in m["components"] if c["present"] and c["state"] == "ACTIVE"]
    last = active == [comp]
    if verb == "remove":
        if last:
            return f"gmirror: Provider {prov} is the last active provider in {m['name']}."
        m["components"].remove(comp)
        m["configured"] -= 1
    elif verb == "rebuild":
        if last:
            return f"gmirror: Provider {prov} is the last active provider in {m['name']}."
        comp.update(state="SYNCHRONIZING", pct=0.0)
    return None


# --- zpool ------------------------------------------------------------------------------


def vdev_state(v: dict) -> str:
    bad = sum(d["state"] in BAD for d in v["devices"])
    if bad == 0:
        return "ONLINE"
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
        devs = [
            (4, d["name"], d["state"], d["read"], d["write"], d["cksum"], _note(d))
            for d in v["devices"]
        ]
        if v["type"] == "stripe":
            rows += [(2, *r[1:]) for r in devs]
        else:
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
