"""jls (default, -v, -n, -s, -h, --libxo json), jail -c|-r, service jail."""

from __future__ import annotations

import json
import re

from ..vfs import FsError, View
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


CONF_D = "/etc/jail.conf.d"
TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|\+=|[{};=]|[^\s{};="\'#]+|#[^\n]*')


def parse_conf(text: str) -> dict[str, dict]:
    """jail.conf(5), the subset jail entries use: `NAME { key = value; key += value;
    flag; }`, global parameters outside blocks, ``$name``/``${name}`` in values, comments."""
    tokens = [t for t in TOKEN_RE.findall(text) if not t.startswith("#")]
    jails: dict[str, dict] = {}
    glob: dict = {}
    current = glob
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "}":
            current = glob
            i += 1
            continue
        if i + 1 < len(tokens) and tokens[i + 1] == "{":
            name = _unquote(tok)
            current = jails.setdefault(name, dict(glob) | {"name": name})
            i += 2
            continue
        if i + 1 < len(tokens) and tokens[i + 1] in ("=", "+="):
            key, op = tok, tokens[i + 1]
            j = i + 2
            values = []
            while j < len(tokens) and tokens[j] not in (";", "}"):
                if tokens[j] != ",":
                    values.append(_unquote(tokens[j]))
                j += 1
            value = ",".join(values)
            current[key] = (current.get(key, "") + "," + value).strip(",") if op == "+=" else value
            i = j + 1
            continue
        if tok != ";":
            current[tok] = True
        i += 1
    for name, params in jails.items():
        for k, v in params.items():
            if isinstance(v, str):
                params[k] = v.replace("${name}", name).replace("$name", name)
    return jails


def _unquote(tok: str) -> str:
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "\"'":
        return tok[1:-1]
    return tok


def configured(ctx, name: str) -> tuple[dict | None, str]:
    """(parameters, source) of a jail as `jail -c NAME` finds them: its file in
    /etc/jail.conf.d first, then /etc/jail.conf."""
    view = View(ctx.fleet, ctx.name)
    path = f"{CONF_D}/{name}.conf"
    for source in (path, "/etc/jail.conf"):
        try:
            text = view.read(source)
        except FsError:
            continue
        params = parse_conf(text).get(name)
        if params is not None:
            return params, source
    return None, ""


def create(ctx, name: str, params: dict | None = None) -> str | None:
    """Create (start) jail NAME from ``params`` or its configuration; the error jail(8)
    prints, or None."""
    host = ctx.host
    source = "command line"
    if params is None:
        params, source = configured(ctx, name)
        if params is None:
            return f'jail: "{name}" not found'
    j = next((x for x in host["jails"] if x["name"] == name), None)
    if j is not None and j["running"]:
        return f'jail: "{name}" already exists'
    path = params.get("path")
    if not isinstance(path, str) or not path:
        return f"jail: {name}: path: no value"
    if not View(ctx.fleet, ctx.name).is_dir(path):
        return f"jail: {name}: path {path}: No such file or directory"
    fields = {
        "hostname": str(params.get("host.hostname") or name),
        "ip4": str(params.get("ip4.addr") or "").split("/")[0].split(",")[0].split("|")[-1],
        "path": path,
        "interface": params.get("interface") if isinstance(params.get("interface"), str) else None,
    }
    if j is None:
        j = {"name": name, "running": False, "jid": 0}
        host["jails"].append(j)
    if source != "/etc/jail.conf" or j.get("conf", True) is not True:
        j["conf"] = source if source.startswith(CONF_D) else False
    j.update(fields)
    start(host, j)
    ctx.write()
    return None


def remove(ctx, j: dict) -> None:
    j["running"], j["jid"] = False, 0
    if j.get("conf", True) is False:
        ctx.host["jails"].remove(j)  # a jail made on the command line leaves no trace
    ctx.write()


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
    if "r" in mode:
        j = next((x for x in host["jails"] if x["name"] == name and x["running"]), None)
        if j is None:
            return usage(f'jail: "{name}" not found')
        remove(ctx, j)
        return f"{name}: removed\n", "", 0
    error = create(ctx, name, kv if "path" in kv else None)
    if error:
        return usage(error)
    return f"{name}: created\n", "", 0


def service_jail(ctx, verb: str, names: list[str]):
    """/etc/rc.d/jail VERB [NAME...]: like the rc script, it answers 0 even when a jail
    could not start (the reason is printed); `jls -j NAME` tells whether it runs."""
    host = ctx.host
    if verb not in ("start", "stop", "restart", "status"):
        return usage(f"/etc/rc.d/jail: unknown directive '{verb}'.")
    if not names:
        names = [j["name"] for j in host["jails"] if j.get("conf", True) is True]
    out = []
    if verb in ("stop", "restart"):
        done = []
        for n in names:
            j = next((x for x in host["jails"] if x["name"] == n and x["running"]), None)
            if j is not None:
                remove(ctx, j)
                done.append(n)
        out.append("Stopping jails:" + "".join(f" {n}" for n in done) + ".\n")
    if verb in ("start", "restart"):
        line = "Starting jails:"
        for n in names:
            error = create(ctx, n)
            if error:
                line += f' cannot start jail  "{n}": \n{error}\n'
            else:
                line += f" {n}"
        out.append(line + ".\n")
    if verb == "status":
        for n in names:
            j = next((x for x in host["jails"] if x["name"] == n), None)
            out.append(f"{n} is {'running' if j and j['running'] else 'not running'}.\n")
    return "".join(out), "", 0
