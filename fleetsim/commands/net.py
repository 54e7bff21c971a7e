"""ifconfig, sysctl and pfctl, printed as FreeBSD 13/14 print them."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time

from .. import dynamics
from .registry import command, usage

PHYS_OPTIONS = (
    "options=4e504bb<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,JUMBO_MTU,VLAN_HWCSUM,"
    "LRO,VLAN_HWFILTER,VLAN_HWTSO,RXCSUM_IPV6,TXCSUM_IPV6,HWSTATS,MEXTPG>"
)


def major(host: dict) -> int:
    return int(host["version"].split(".", 1)[0])


def _inet(ip: str, plen: int, vhid: int | None = None) -> str:
    net = ipaddress.ip_network(f"{ip}/{plen}", strict=False)
    mask = int(net.netmask)
    bcast = ip if plen == 32 else str(net.broadcast_address)
    line = f"\tinet {ip} netmask 0x{mask:08x} broadcast {bcast}"
    return line + (f" vhid {vhid}" if vhid else "")


def _ll6(mac: str, ifname: str, idx: int) -> str:
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 2
    eui = f"{b[0]:x}{b[1]:02x}:{b[2]:x}ff:fe{b[3]:02x}:{b[4]:x}{b[5]:02x}"
    return f"\tinet6 fe80::{eui}%{ifname} prefixlen 64 scopeid 0x{idx:x}"


def iface_block(ctx, iface: dict, idx: int) -> str:
    host, v14 = ctx.host, major(ctx.host) >= 14
    flags = (
        "1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP>"
        if v14
        else "8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>"
    )
    lines = [
        f"{iface['name']}: flags={flags} metric 0 mtu 1500",
        "\t" + PHYS_OPTIONS,
        f"\tether {iface['mac']}",
    ]
    lines += [_inet(ip, plen) for ip, plen in iface["inet"]]
    for e in host["carp"]:
        if e["interface"] == iface["name"]:
            lines.append(_inet(e["vip"][0], e["vip"][1], e["vhid"]))
    first = host["interfaces"][0]["name"]
    for j in host["jails"]:
        if j["running"] and j["ip4"] and (j.get("interface") or first) == iface["name"]:
            lines.append(_inet(j["ip4"], 32))
    lines.append(_ll6(iface["mac"], iface["name"], idx))
    for e in host["carp"]:
        if e["interface"] == iface["name"]:
            lines.append(
                f"\tcarp: {e['state']} vhid {e['vhid']} advbase {e['advbase']} "
                f"advskew {e['advskew']}"
            )
            if v14:
                lines.append("\t      peer 224.0.0.18 peer6 ff02::12")
    lines += [
        "\tmedia: Ethernet autoselect (1000baseT <full-duplex>)",
        "\tstatus: active",
        "\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>",
    ]
    return "\n".join(lines) + "\n"


def lo_block(ctx, idx: int) -> str:
    flags = (
        "1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP>"
        if major(ctx.host) >= 14
        else "8049<UP,LOOPBACK,RUNNING,MULTICAST>"
    )
    return (
        f"lo0: flags={flags} metric 0 mtu 16384\n"
        "\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>\n"
        "\tinet 127.0.0.1 netmask 0xff000000\n\tinet6 ::1 prefixlen 128\n"
        f"\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x{idx:x}\n\tgroups: lo\n"
        "\tnd6 options=21<PERFORMNUD,AUTO_LINKLOCAL>\n"
    )


def pfsync_link(ctx) -> bool:
    ps = ctx.host["pfsync"]
    return not (
        ctx.fleet.host_faults(ctx.name, "pfsync-down")
        or ctx.fleet.cluster_fault(ps["cluster"], "pfsync-down")
    )


def pfsync_block(ctx) -> str:
    ps, v14 = ctx.host["pfsync"], major(ctx.host) >= 14
    link = pfsync_link(ctx)
    up = "1000041<UP,RUNNING,LOWER_UP>" if v14 else "41<UP,RUNNING>"
    flags = up if link else "0<>"
    version = " version: 1400" if v14 else ""
    ok = int(link and not ps["bulk_until"])
    return (
        f"pfsync0: flags={flags} metric 0 mtu 1500\n"
        f"\tsyncdev: {ps['syncdev']} syncpeer: {ps['syncpeer']} maxupd: {ps['maxupd']} "
        f"defer: off{version}\n\tsyncok: {ok}\n\tgroups: pfsync\n"
    )


@command("ifconfig")
def ifconfig(ctx, args, stdin):
    host = ctx.host
    blocks = {
        i["name"]: (lambda i=i, k=k: iface_block(ctx, i, k + 1))
        for k, i in enumerate(host["interfaces"])
    }
    blocks["lo0"] = lambda: lo_block(ctx, len(host["interfaces"]) + 1)
    if host["pfsync"]:
        blocks["pfsync0"] = lambda: pfsync_block(ctx)
    if not args or args[0] == "-a":
        return "".join(f() for f in blocks.values()), "", 0
    if args[0] == "-l":
        return " ".join(blocks) + "\n", "", 0
    if args[0] not in blocks:
        return usage(f"ifconfig: interface {args[0]} does not exist")
    if len(args) == 1:
        return blocks[args[0]](), "", 0
    return ifconfig_set(ctx, args[0], args[1:])


def ifconfig_set(ctx, ifname: str, words: list[str]):
    """`ifconfig IF vhid N [advskew S] [advbase B] [state backup|master] [pass X] ...`"""
    opts, i = {}, 0
    while i < len(words):
        if words[i] in ("vhid", "advskew", "advbase", "state", "pass", "alias", "peer"):
            if i + 1 >= len(words):
                return usage(f"ifconfig: {words[i]}: missing argument")
            opts[words[i]] = words[i + 1]
            i += 2
        elif words[i] in ("up", "down", "-alias", "mcast", "mcast6"):
            i += 1
        else:
            return usage(f"ifconfig: {words[i]}: bad value")
    if "vhid" not in opts:
        return "", "", 0
    entry = next(
        (
            e
            for e in ctx.host["carp"]
            if e["interface"] == ifname and str(e["vhid"]) == opts["vhid"]
        ),
        None,
    )
    if entry is None:
        return usage("ifconfig: SIOCSVH: No such file or directory")
    for field, lo, hi in (("advskew", 0, 254), ("advbase", 1, 255)):
        if field in opts:
            if not opts[field].isdigit() or not lo <= int(opts[field]) <= hi:
                return usage(f"ifconfig: {field} {opts[field]}: bad value")
            entry[field] = int(opts[field])
    if "state" in opts:
        want = opts["state"].upper()
        if want not in ("BACKUP", "MASTER"):
            return usage(f"ifconfig: unknown state {opts['state']}")
        dynamics.set_state(ctx.fleet, ctx.name, entry, want, "user requested via ifconfig")
        entry["last_heard"] = entry["next_ad"] = ctx.now
    ctx.write()
    return "", "", 0


def oids(ctx) -> dict:
    host = ctx.host
    boot = host["boot_time"]
    d = {
        "kern.ostype": "FreeBSD",
        "kern.osrelease": host["version"],
        "kern.hostname": host["fqdn"],
        "kern.boottime": f"{{ sec = {int(boot)}, usec = {int(boot % 1 * 1e6)} }} "
        + time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(boot)),
        "hw.machine": "amd64",
        "hw.ncpu": 8,
        "hw.physmem": 34252308480,
        "vm.loadavg": "{ " + " ".join(f"{x:.2f}" for x in host["load"]) + " }",
        "kern.racct.enable": 1,
        "net.inet.ip.forwarding": int(bool({"firewall", "loadbalancer"} & set(host["roles"]))),
    }
    order = (
        "ifdown_demotion_factor",
        "senderr_demotion_factor",
        "demotion",
        "log",
        "preempt",
        "dscp",
        "allow",
    )
    for k in order:
        d[f"net.inet.carp.{k}"] = host["sysctl"][f"net.inet.carp.{k}"]
    d["net.pfsync.carp_demotion_factor"] = host["sysctl"]["net.pfsync.carp_demotion_factor"]
    return d


WRITABLE = {
    "net.inet.carp.preempt",
    "net.inet.carp.allow",
    "net.inet.carp.log",
    "net.inet.carp.demotion",
    "net.inet.carp.ifdown_demotion_factor",
    "net.inet.carp.senderr_demotion_factor",
    "net.pfsync.carp_demotion_factor",
}


@command("sysctl")
def sysctl(ctx, args, stdin):
    values_only = ignore = False
    names = []
    for a in args:
        if a.startswith("-") and len(a) > 1:
            values_only |= "n" in a
            ignore |= "i" in a
        else:
            names.append(a)
    table = oids(ctx)
    out, err, rc = [], [], 0
    for name in names or ([""] if "-a" in args else []):
        if "=" in name:
            o, e, r = _sysctl_set(ctx, name, table)
            out += o
            err += e
            rc = rc or r
            continue
        hits = [k for k in table if not name or k == name or k.startswith(name + ".")]
        if not hits:
            if not ignore:
                err.append(f"sysctl: unknown oid '{name}'\n")
                rc = 1
            continue
        out += [f"{table[k]}\n" if values_only else f"{k}: {table[k]}\n" for k in hits]
    return "".join(out), "".join(err), rc


def _sysctl_set(ctx, expr: str, table: dict):
    name, _, value = expr.partition("=")
    if name not in table:
        return [], [f"sysctl: unknown oid '{name}'\n"], 1
    if name not in WRITABLE:
        return [], [f"sysctl: oid '{name}' is read only\n"], 1
    try:
        number = int(value)
    except ValueError:
        return [], [f"sysctl: invalid integer '{value}'\n"], 1
    old = ctx.host["sysctl"][name]
    if name == "net.inet.carp.demotion":
        # the kernel handler adds the written value to the current demotion
        dynamics.demote(ctx.fleet, ctx.name, number, "sysctl")
    else:
        ctx.host["sysctl"][name] = number
    ctx.write()
    return [f"{name}: {old} -> {ctx.host['sysctl'][name]}\n"], [], 0


def pf_states(ctx) -> int:
    """Current pf states: traffic-shaped; pfsync peers that sync show the same number."""
    host, now = ctx.host, ctx.now
    seed, base = ctx.name, host["pf"]["base_states"]
    ps = host["pfsync"]
    if ps:
        cl = ctx.fleet.clusters[ps["cluster"]]
        first = cl["members"][0]["host"]
        seed, base = cl["name"], ctx.fleet.hosts[first]["pf"]["base_states"]
        if not pfsync_link(ctx) or ps["bulk_until"]:
            # unsynchronised peers keep only their own states: the tables drift apart
            base = int(base * (1.07 if ctx.name == first else 0.93))
    phase = int(hashlib.sha256(seed.encode()).hexdigest()[:6], 16) % 628 / 100
    wobble = math.sin(2 * math.pi * now / 900 + phase) * 0.12
    jitter = math.sin(now // 5 * 12.9898 + phase) * 0.01
    return max(0, int(base * (1 + wobble + jitter)))


def pfctl_info(ctx) -> str:
    pf, now = ctx.host["pf"], ctx.now
    run = max(1, int(now - pf["since"]))
    days, rest = divmod(run, 86400)
    hms = time.strftime("%H:%M:%S", time.gmtime(rest))
    status = "Enabled" if pf["enabled"] else "Disabled"
    lines = [
        f"Status: {status} for {days} days {hms}{'Debug: Urgent':>24}",
        "",
        f"{'State Table':<27} {'Total':>14} {'Rate':>16}",
        f"  {'current entries':<25} {pf_states(ctx):>14}",
    ]
    rate = pf["rate"]
    counts = [("searches", rate * 30), ("inserts", rate * 0.4), ("removals", rate * 0.4)]
    for label, r in counts:
        lines.append(f"  {label:<25} {int(r * run):>14} {r:>14.1f}/s")
    lines.append("Counters")
    for label, r in (
        ("match", rate * 0.9),
        ("bad-offset", 0),
        ("fragment", 0.002),
        ("short", 0.0005),
        ("normalize", 0.001),
        ("memory", 0),
        ("bad-timestamp", 0),
        ("congestion", 0),
        ("ip-option", 0.0001),
        ("proto-cksum", 0),
        ("state-mismatch", 0.003),
        ("state-insert", 0),
        ("state-limit", 0),
        ("src-limit", 0),
        ("synproxy", 0),
        ("map-failed", 0),
    ):
        lines.append(f"  {label:<25} {int(r * run):>14} {r:>14.1f}/s")
    return "\n".join(lines) + "\n"


PF_KEYWORDS = (
    "pass",
    "block",
    "match",
    "set",
    "table",
    "scrub",
    "antispoof",
    "anchor",
    "nat",
    "rdr",
    "binat",
    "nat-anchor",
    "rdr-anchor",
    "load",
    "include",
)


def pf_check(path: str, text: str) -> tuple[list[str], list[str]]:
    """(rules, errors) of a pf.conf; errors in pfctl's `FILE:LINE: syntax error` form."""
    rules, errors = [], []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word = line.split()[0]
        if word in PF_KEYWORDS:
            rules.append(line)
        elif not (len(line.split("=", 1)) == 2 and line.split("=", 1)[0].strip().isidentifier()):
            errors.append(f"{path}:{no}: syntax error")
    return rules, errors


@command("pfctl")
def pfctl(ctx, args, stdin):
    pf = ctx.host["pf"]
    flags = "".join(a[1:] for a in args if a.startswith("-"))
    files = [a for a in args if not a.startswith("-")]
    if "s" in flags:
        what = flags.split("s", 1)[1][:1] or (files[0][:1] if files else "")
        if what == "i":
            return pfctl_info(ctx), "", 0
        if what == "r":
            return "".join(r + "\n" for r in pf["rules"]), "", 0
        return usage("pfctl: Unknown show modifier", 1)
    if "f" in flags:
        if not files:
            return usage("pfctl: option requires an argument -- f")
        text = ctx.host["files"].get(files[0])
        if text is None:
            return usage(f"pfctl: {files[0]}: No such file or directory")
        rules, errors = pf_check(files[0], text)
        if errors:
            return (
                "",
                "\n".join(errors) + "\npfctl: Syntax error in config file: pf rules not loaded\n",
                1,
            )
        if "n" not in flags:
            pf["rules"] = rules
            ctx.write()
        return "", "", 0
    if flags in ("e", "d"):
        want = flags == "e"
        if pf["enabled"] == want:
            return usage(f"pfctl: pf already {'enabled' if want else 'disabled'}")
        pf["enabled"], pf["since"] = want, ctx.now
        ctx.write()
        return "", f"pf {'enabled' if want else 'disabled'}\n", 0
    return usage("usage: pfctl [-AdeghMmNnOPqRrvz] [-a anchor] [-D macro=value] [-F modifier]")
