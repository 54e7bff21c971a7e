"""A host's reboot: the `reboot` fault, `shutdown -r now` and `reboot` on the host.

Owns what a reboot resets and what the boot re-reads: the host goes down for its
``boot_seconds`` (spec, default 30 simulated seconds; its sessions drop), background
processes and mounts are gone, jails made on the command line are gone; at boot the
sysctls start from their built values and rc.d/sysctl applies /etc/sysctl.conf then
/etc/sysctl.conf.local (`net.inet.carp.demotion=N` adds, as the kernel handler does),
rc.d/netif gives each vhid the advskew of rc.conf (the spec's, or an `ifconfig_IF_aliasN`
line naming the vhid), rc.d/pf loads /etc/pf.conf, CARP starts as BACKUP and pfsync's
bulk update keeps it demoted until done (``dynamics.boot``), HAProxy starts with its
server-state file.

Must not run anything at import time beyond registering its dynamics hook.
"""

from __future__ import annotations

import contextlib
import itertools
import re

from .. import dynamics
from ..vfs import FsError, View
from .haproxy import reload as haproxy_reload
from .net import WRITABLE, load_ruleset, pf_check
from .registry import Ctx, command, usage

BOOT_SECONDS = 30.0
SYSCTL_FILES = ("/etc/sysctl.conf", "/etc/sysctl.conf.local")


def reboot(fleet, name: str, now: float, boot_seconds: float | None = None) -> None:
    """Take the host down now; it boots ``boot_seconds`` later (``step``)."""
    host = fleet.hosts[name]
    if boot_seconds is None:
        boot_seconds = float(host.get("boot_seconds", BOOT_SECONDS))
    fleet.log(name, "syncing disks... All buffers synced.")
    fleet.log(name, "Uptime: rebooting")
    host["up"] = False
    host["boot_at"] = now + boot_seconds
    for proc in host.get("procs", []):
        if proc.get("pidfile"):
            host["files"].pop(proc["pidfile"], None)
    host["procs"] = []
    host["mounts"] = []
    host["jails"] = [j for j in host["jails"] if j.get("conf", True) is not False]
    fleet.listeners_dirty = True
    fleet.mark(name)


def step(fleet, now: float) -> None:
    """Boot the hosts whose reboot is over (a dynamics hook); a `down` fault keeps a host
    off until healed."""
    for name, host in fleet.hosts.items():
        at = host.get("boot_at")
        if at is None or now < at:
            continue
        del host["boot_at"]
        if fleet.host_faults(name, "down"):
            continue
        boot(fleet, name, max(at, now))


def boot(fleet, name: str, now: float) -> None:
    host = fleet.hosts[name]
    built = host.get("sysctl_boot")
    if built is None:  # a state from before fleetsim kept the built values
        built = dict(host["sysctl"], **{"net.inet.carp.demotion": 0})
    host["sysctl"] = dict(built)
    view = View(fleet, name)
    for path in SYSCTL_FILES:
        try:
            text = view.read(path)
        except FsError:
            continue
        apply_sysctl_conf(fleet, name, text)
    for e in host["carp"]:
        e["advskew"] = e.get("advskew_boot", e["advskew"])
    with contextlib.suppress(FsError):
        apply_rc_conf_carp(host, view.read("/etc/rc.conf"))
    try:
        rules, errors = pf_check("/etc/pf.conf", view.read("/etc/pf.conf"))
    except FsError:
        rules, errors = [], ["missing"]
    if not errors:
        load_ruleset(fleet, name, rules)
    host["pf"].update(enabled=True, since=now)
    dynamics.boot(fleet, name, now)
    if host["haproxy"]:
        haproxy_reload(Ctx(fleet, name, host, {}, now))
    fleet.log(name, "sshd: Server listening on 0.0.0.0 port 22.")
    fleet.listeners_dirty = True
    fleet.mark(name)


RC_CARP = re.compile(r'^ifconfig_(\w+?)(?:_alias\d+)?="([^"]*)"', re.M)


def apply_rc_conf_carp(host: dict, text: str) -> None:
    """rc.d/netif: `ifconfig_IF[_aliasN]="... vhid N advskew S ..."` sets that vhid's
    advskew (and advbase) at boot."""
    for ifname, value in RC_CARP.findall(text):
        words = value.split()
        opts = dict(itertools.pairwise(words))
        if "vhid" not in opts:
            continue
        for e in host["carp"]:
            if e["interface"] == ifname and str(e["vhid"]) == opts["vhid"]:
                for field, lo, hi in (("advskew", 0, 254), ("advbase", 1, 255)):
                    if opts.get(field, "").isdigit() and lo <= int(opts[field]) <= hi:
                        e[field] = int(opts[field])


def apply_sysctl_conf(fleet, name: str, text: str) -> None:
    """rc.d/sysctl: `name=value` per line, `#` comments; unknown or read-only names are
    skipped (the boot goes on)."""
    sysctl = fleet.hosts[name]["sysctl"]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip().strip('"')
        if not eq or key not in WRITABLE:
            continue
        try:
            number = int(value)
        except ValueError:
            continue
        if key == "net.inet.carp.demotion":
            dynamics.demote(fleet, name, number, "sysctl")
        else:
            sysctl[key] = number


dynamics.HOOKS.append(step)


@command("reboot")
def reboot_command(ctx, args, stdin):
    """reboot(8): the session that asked drops with the rest."""
    reboot(ctx.fleet, ctx.name, ctx.now)
    return "", "", 0


@command("shutdown")
def shutdown(ctx, args, stdin):
    if "-r" not in args or not args or args[-1] not in ("now", "+0"):
        return usage(
            "usage: shutdown [-] [-c | -h | -p | -r | -k] [-o [-n]] [-q] time [warning-message ...]"
        )
    reboot(ctx.fleet, ctx.name, ctx.now)
    return "", "", 0
