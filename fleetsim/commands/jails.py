"""jls (default, -v, -n, -s, -h, --libxo json), jail -c|-r, service jail."""

from __future__ import annotations

import json

from .registry import command, usage


def running(host: dict) -> list[dict]:
    return sorted((j for j in host["jails"] if j["running"]), key=lambda j: j["jid"])


def params(host: dict, j: dict) -> dict:
    osreldate = int(host["version"].split(".")[0]) * 100000 + 1000
    return {
        "devfs_ruleset": 4,
        "enforce_statfs": 2,
        "host": "new",
        "ip4": "new",
        "ip6": "disable",
        "jid": j["jid"],
        "name": j["name"],
        "osreldate": osreldate,
        "osrelease": host["version"],
        "parent": 0,
        "path": j["path"],
        "persist": None,
        "securelevel": -1,
        "host.domainname": "",
        "host.hostname": j["hostname"],
        "host.hostuuid": "00000000-0000-0000-0000-000000000000",
        "ip4.addr": j["ip4"],
        "ip4.saddrsel": None,
        "ip6.addr": "",
        "vnet": "inherit",
    }


def _q(v) -> str:
    s = str(v)
    return f'"{s}"' if not s or " " in s else s


@command("jls")
def jls(ctx, args, stdin):
    host = ctx.host
    libxo = any(a.startswith("--libxo") for a in args)
    flags, names, i = "", [], 0
    only = None
    while i < len(args):
        a = args[i]
        if a == "--libxo":
            i += 2
            continue
        if a == "-j" and i + 1 < len(args):
            only = args[i + 1]
            i += 2
            continue
        if a.startswith("--libxo"):
            pass
        elif a.startswith("-"):
            flags += a[1:]
        else:
            names.append(a)
        i += 1
    jails = running(host)
    if only is not None:
        jails = [j for j in jails if only in (j["name"], str(j["jid"]))]
        if not jails:
            return usage(f'jls: jail "{only}" not found')
    if names or "n" in flags or "s" in flags:
        return _params(host, jails, names, flags, libxo)
    verbose = "v" in flags
    if libxo:
        rows = []
        for j in jails:
            if verbose:
                rows.append(
                    {
                        "jid": j["jid"],
                        "hostname": j["hostname"],
                        "path": j["path"],
                        "name": j["name"],
                        "state": "ACTIVE",
                        "cpusetid": j["jid"] + 1,
                        "ipv4_addrs": [j["ip4"]] if j["ip4"] else [],
                        "ipv6_addrs": [],
                    }
                )
            else:
                rows.append(
                    {
                        "jid": j["jid"],
                        "ipv4": j["ip4"],
                        "hostname": j["hostname"],
                        "path": j["path"],
                    }
                )
        doc = {"__version": "2", "jail-information": {"jail": rows}}
        return json.dumps(doc) + "\n", "", 0
    if verbose:
        out = [
            f"{'JID':>6}  {'Hostname':<29} Path",
            f"{'':8}{'Name':<29} State",
            f"{'':8}CPUSetID",
            f"{'':8}IP Address(es)",
        ]
        for j in jails:
            out += [
                f"{j['jid']:>6}  {j['hostname']:<29.29} {j['path']}",
                f"{'':8}{j['name']:<29.29} ACTIVE",
                f"{'':8}{j['jid'] + 1}",
            ]
            if j["ip4"]:
                out.append(f"{'':8}{j['ip4']}")
        return "\n".join(out) + "\n", "", 0
    if "N" in flags:  # jls -N: the jail name, left-aligned, in place of the JID
        out = [f" {'JID':<15} {'IP Address':<15} {'Hostname':<29} Path"]
        out += [
            f" {j['name']:<15} {j['ip4']:<15.15} {j['hostname']:<29.29} {j['path']}" for j in jails
        ]
    else:
        out = [f"{'JID':>6}  {'IP Address':<15} {'Hostname':<29} Path"]
        out += [
            f"{j['jid']:>6}  {j['ip4']:<15.15} {j['hostname']:<29.29} {j['path']}" for j in jails
        ]
    return "\n".join(out) + "\n", "", 0


def _params(host, jails, names, flags, libxo):
    out = []
    for j in jails:
        p = params(host, j)
        keys = names or [k for k in p if not ("s" in flags and k in ("jid", "parent"))]
        bad = [k for k in keys if k not in p]
        if bad:
            return usage(f"jls: unknown parameter: {bad[0]}")
        if libxo:
            out.append({k: p[k] for k in keys})
        elif "n" in flags or "s" in flags:
            out.append(" ".join(k if p[k] is None else f"{k}={_q(p[k])}" for k in keys))
        else:
            out.append(" ".join(_q(p[k]) if p[k] is not None else "" for k in keys))
    if libxo:
        doc = {"__version": "2", "jail-information": {"jail": out}}
        return json.dumps(doc) + "\n", "", 0
    header = [" ".join(names)] if "h" in flags and names else []
    return "".join(line + "\n" for line in header + out), "", 0


def start(host: dict, j: dict) -> None:
    j["running"], j["jid"] = True, host["next_jid"]
    host["next_jid"] += 1


@command("jail")
def jail(ctx, args, stdin):
    host = ctx.host
    if not args or args[0] not in ("-c", "-r", "-cm", "-rc"):
        return usage(
            "usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username] "
            "-[cmr] param=value ... [command=command ...]"
        )
    mode, rest = args[0], args[1:]
    kv = dict(a.split("=", 1) for a in rest if "=" in a)
    plain = [a for a in rest if "=" not in a and not a.startswith("-")]
    name = kv.get("name") or (plain[0] if plain else None)
    if not name:
        return usage("jail: missing name")
    j = next((x for x in host["jails"] if x["name"] == name), None)
    if "r" in mode:
        if j is None or not j["running"]:
            return usage(f'jail: "{name}" not found')
        j["running"], j["jid"] = False, 0
        if not j.get("conf", True):
            host["jails"].remove(j)
        ctx.write()
        return f"{name}: removed\n", "", 0
    if j is not None and j["running"]:
        return usage(f"jail: {name}: jail {j['jid']} already exists")
    if j is None:
        if "path" not in kv:
            return usage(f'jail: "{name}" not found')
        j = {
            "name": name,
            "hostname": kv.get("host.hostname", name),
            "ip4": kv.get("ip4.addr", "").split("/")[0].split(",")[0],
            "path": kv["path"],
            "interface": kv.get("interface"),
            "running": False,
            "jid": 0,
            "conf": False,
        }
        host["jails"].append(j)
    start(host, j)
    ctx.write()
    return f"{name}: created\n", "", 0


@command("service")
def service(ctx, args, stdin):
    if len(args) < 2:
        return usage("usage: service [-j <jail name or id>] <rc.d script> <command>")
    script, verb, names = args[0], args[1], args[2:]
    if script != "jail":
        if script == "haproxy" and ctx.host["haproxy"]:
            return f"haproxy is running as pid {ctx.host['haproxy']['pid']}.\n", "", 0
        return usage(
            f"{script} does not exist in /etc/rc.d or the local startup",
        )
    host = ctx.host
    jails = [j for j in host["jails"] if j.get("conf", True)]
    chosen = [j for j in jails if not names or j["name"] in names]
    unknown = [n for n in names if n not in {j["name"] for j in jails}]
    if verb not in ("start", "stop", "restart", "status"):
        return usage(f"/etc/rc.d/jail: unknown directive '{verb}'.")
    out, err = [], []
    if verb in ("stop", "restart"):
        done = []
        for j in chosen:
            if j["running"]:
                j["running"], j["jid"] = False, 0
                done.append(j["name"])
        out.append("Stopping jails:" + "".join(f" {n}" for n in done) + ".\n")
    if verb in ("start", "restart"):
        done = []
        for j in chosen:
            if j["running"]:
                err.append(f"jail: {j['name']}: jail {j['jid']} already exists\n")
                continue
            start(host, j)
            done.append(j["name"])
        out.append("Starting jails:" + "".join(f" {n}" for n in done) + ".\n")
    if verb == "status":
        out += [f"{j['name']} is {'running' if j['running'] else 'not running'}.\n" for j in chosen]
    for n in unknown:
        err.append(f"Unknown jail: {n}\n")
    ctx.write()
    return "".join(out), "".join(err), 1 if unknown or err else 0
