"""uname, freebsd-version, uptime, hostname, date, cat, dmesg, rsync and small filters."""

from __future__ import annotations

import hashlib
import re
import time

from .. import backups, dynamics
from .registry import command, usage


def kernel_ident(host: dict) -> str:
    rel = host["version"].split("-p")[0]
    h = hashlib.sha1(host["version"].encode()).hexdigest()[:12]  # noqa: S324 - a fake git id
    return f"releng/{rel.split('-')[0]}-n{int(h[:5], 16) % 300000}-{h}"


@command("uname")
def uname(ctx, args, stdin):
    host = ctx.host
    parts = {
        "s": "FreeBSD",
        "n": host["fqdn"],
        "r": host["version"],
        "v": f"FreeBSD {host['version']} {kernel_ident(host)} GENERIC",
        "m": "amd64",
    }
    flags = "".join(a[1:] for a in args if a.startswith("-")) or "s"
    if "a" in flags:
        flags = "snrvm"
    return " ".join(parts[f] for f in "snrvm" if f in flags) + "\n", "", 0


@command("freebsd-version")
def freebsd_version(ctx, args, stdin):
    return ctx.host["version"] + "\n", "", 0


@command("hostname")
def hostname(ctx, args, stdin):
    name = ctx.host["fqdn"]
    return (name.split(".")[0] if "-s" in args else name) + "\n", "", 0


@command("uptime")
def uptime(ctx, args, stdin):
    now, host = ctx.now, ctx.host
    up = int(now - host["boot_time"])
    days, rest = divmod(up, 86400)
    hrs, mins = rest // 3600, rest % 3600 // 60
    clock = time.strftime("%I:%M%p", time.gmtime(now)).lstrip("0").rjust(7)
    text = f"{clock}  up"
    if days > 0:
        text += f" {days} day{'s' if days > 1 else ''},"
    if hrs > 0 and mins > 0:
        text += f" {hrs:2d}:{mins:02d},"
    elif hrs > 0:
        text += f" {hrs} hr{'s' if hrs > 1 else ''},"
    elif mins > 0:
        text += f" {mins} min{'s' if mins > 1 else ''},"
    else:
        text += f" {rest % 60} sec{'s' if rest % 60 != 1 else ''},"
    load = ", ".join(f"{x:.2f}" for x in host["load"])
    return f"{text} 1 user, load averages: {load}\n", "", 0


@command("date")
def date(ctx, args, stdin):
    if args and args[-1] == "+%s":
        return f"{int(ctx.now)}\n", "", 0
    return time.strftime("%a %b %e %H:%M:%S UTC %Y\n", time.gmtime(ctx.now)), "", 0


@command("sleep")
def sleep(ctx, args, stdin):
    return "", "", 0  # never block the event loop; callers only use it as a separator


def files(ctx) -> dict:
    host = ctx.host
    out = dict(host["files"])
    for name, rec in host["backups"].items():
        job = ctx.fleet.jobs.get(name)
        if job is not None:
            out[job["log_path"]] = backups.log_text(rec, name)
    out["/var/log/messages"] = "".join(line + "\n" for line in host["log"])
    conf = []
    for j in host["jails"]:
        if j.get("conf", True):
            conf.append(
                f'{j["name"]} {{\n\thost.hostname = "{j["hostname"]}";\n'
                f'\tpath = "{j["path"]}";\n'
                + (f'\tip4.addr = "{j["ip4"]}";\n' if j["ip4"] else "")
                + "}\n"
            )
    out["/etc/jail.conf"] = (
        'exec.start = "/bin/sh /etc/rc";\nexec.stop = "/bin/sh '
        '/etc/rc.shutdown";\nmount.devfs;\n\n' + "\n".join(conf)
    )
    return out


@command("cat")
def cat(ctx, args, stdin):
    if not args:
        return stdin, "", 0
    table, out, err = files(ctx), [], []
    for a in args:
        if a in table:
            out.append(table[a])
        else:
            err.append(f"cat: {a}: No such file or directory\n")
    return "".join(out), "".join(err), 1 if err else 0


@command("dmesg")
def dmesg(ctx, args, stdin):
    return "".join(line.split("kernel: ", 1)[-1] + "\n" for line in ctx.host["log"]), "", 0


@command("grep")
def grep(ctx, args, stdin):
    flags = "".join(a[1:] for a in args if a.startswith("-") and len(a) > 1)
    words = [a for a in args if not a.startswith("-") or a == "-"]
    if not words:
        return usage("usage: grep [-cinvx] pattern", 2)
    try:
        rx = re.compile(words[0], re.I if "i" in flags else 0)
    except re.error:
        return usage("grep: invalid regular expression", 2)
    hits = [ln for ln in stdin.splitlines() if bool(rx.search(ln)) != ("v" in flags)]
    if "c" in flags:
        return f"{len(hits)}\n", "", 0 if hits else 1
    return "".join(h + "\n" for h in hits), "", 0 if hits else 1


@command("wc")
def wc(ctx, args, stdin):
    if "-l" in args:
        return f"{stdin.count(chr(10)):>8}\n", "", 0
    return f"{stdin.count(chr(10)):>8}{len(stdin.split()):>8}{len(stdin.encode()):>8}\n", "", 0


@command("head")
def head(ctx, args, stdin):
    n = 10
    for i, a in enumerate(args):
        if a == "-n" and i + 1 < len(args) and args[i + 1].isdigit():
            n = int(args[i + 1])
        elif a.startswith("-") and a[1:].isdigit():
            n = int(a[1:])
    return "".join(line + "\n" for line in stdin.splitlines()[:n]), "", 0


@command("rsync")
def rsync(ctx, args, stdin):
    """A backup job's pull, run on its storage host: `rsync -a --stats SRC:/ /DATASET/`."""
    host = ctx.host
    paths = [a for a in args if not a.startswith("-")]
    job = None
    for name in host["backups"]:
        spec = ctx.fleet.jobs.get(name)
        if spec and any(
            p.rstrip("/") == "/" + spec["dataset"]
            or p.split(":")[0].split("@")[-1] == spec["source"]
            for p in paths
        ):
            job = spec
            break
    if job is None or len(paths) < 2:
        return usage(
            "rsync error: syntax or usage error (code 1) at main.c(1795) "
            f"[client={backups.RSYNC_VERSION}]"
        )
    code = dynamics.job_exit_code(ctx.fleet, job)
    out, err, rc = backups.run(host, job, ctx.now - 20, ctx.now, code)
    ctx.write()
    return (out if "--stats" in args else ""), err, rc
