"""Argv builders for every command nyiops runs to *change* a host (the act side).

Owns: turning validated values into the exact command text the SSH layer sends, quoted with
shlex, plus the allow-list checks those values must pass. Every builder re-checks its inputs
(a value that reaches here unvalidated raises `UnsafeValue`), so a caller that forgot the form
layer still cannot build an injectable command (RELIABILITY C1).

Must not: import Django or paramiko, touch the network or the clock. It builds text; running
it is hosts/ssh.py's job, deciding what to run is the operations app's.

A command is a `Cmd`: the script text (what `sh -c` runs on the host), the argv shown to people
and stored in the audit, and optional stdin content (file writes use `cat > PATH` with the
content on stdin, so file content is never part of a command line).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

HAPROXY_SOCKET = "/var/run/haproxy.sock"
HAPROXY_STATE_FILE = "/var/db/haproxy/server-state"
SYSCTL_CONF_LOCAL = "/etc/sysctl.conf.local"
PF_REVERT_PIDFILE = "/var/run/nyiops-pf-revert.pid"

# Allow-lists. Deliberately narrower than FreeBSD allows: nothing here may start with '-'
# (it would read as an option) and nothing may hold a shell metacharacter or whitespace.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")  # HAProxy backend/server names
_GEOM = re.compile(r"^[a-z][a-z0-9]{0,15}$")  # gm0, ada1, nvd0 ...
_PROVIDER = re.compile(r"^[a-z][a-z0-9]{0,15}(p[0-9]{1,3}|s[0-9]{1,2}[a-h]?)?$")  # ada1, ada1p2
_POOL = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")
_VDEV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")  # ada2p3, gpt/disk2, /dev/ada2p3
_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)*$")
_SNAPSHOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_PATH = re.compile(r"^/[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
_JAIL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SIZE = re.compile(r"^[1-9][0-9]{0,5}[KMGT]$")
_SYSCTL_OID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


class UnsafeValue(ValueError):
    """A value outside the allow-list reached a builder: a bug upstream, never sent."""


def _check(pattern: re.Pattern, value, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > 200:
        raise UnsafeValue(f"{what} {value!r} is not allowed")
    if "/../" in f"{value}/" or value.startswith("../"):
        raise UnsafeValue(f"{what} {value!r} climbs out of its directory")
    return value


def valid_haproxy_name(v) -> bool:
    return _ok(_NAME, v)


def valid_geom(v) -> bool:
    return _ok(_GEOM, v)


def valid_provider(v) -> bool:
    return _ok(_PROVIDER, v)


def valid_pool(v) -> bool:
    return _ok(_POOL, v)


def valid_vdev(v) -> bool:
    return _ok(_VDEV, v)


def valid_dataset(v) -> bool:
    return _ok(_DATASET, v)


def valid_path(v) -> bool:
    return _ok(_PATH, v)


def valid_jail(v) -> bool:
    return _ok(_JAIL, v)


def _ok(pattern, v) -> bool:
    try:
        _check(pattern, v, "value")
    except UnsafeValue:
        return False
    return True


@dataclass(frozen=True)
class Cmd:
    """One command for one host. `script` is sent; `argv` is what people read."""

    argv: tuple[str, ...]
    script: str
    stdin: bytes | None = None

    def __str__(self) -> str:
        return self.script


def _argv(*argv: str) -> Cmd:
    return Cmd(tuple(argv), shlex.join(argv))


# --- files ------------------------------------------------------------------------------


def write_file(path: str, content: str) -> Cmd:
    """`cat > PATH` with the content on stdin: the content never reaches a command line."""
    _check(_PATH, path, "path")
    return Cmd(("cat", ">", path), f"cat > {shlex.quote(path)}", content.encode())


def read_file(path: str) -> Cmd:
    return _argv("cat", _check(_PATH, path, "path"))


def copy_file(src: str, dst: str) -> Cmd:
    return _argv("cp", _check(_PATH, src, "source"), _check(_PATH, dst, "destination"))


def move_file(src: str, dst: str) -> Cmd:
    return _argv("mv", _check(_PATH, src, "source"), _check(_PATH, dst, "destination"))


def remove_file(path: str) -> Cmd:
    return _argv("rm", "-f", _check(_PATH, path, "path"))


def make_dir(path: str) -> Cmd:
    return _argv("mkdir", "-p", _check(_PATH, path, "directory"))


def file_exists(path: str) -> Cmd:
    return _argv("test", "-e", _check(_PATH, path, "path"))


def sha256(path: str) -> Cmd:
    return _argv("sha256", "-q", _check(_PATH, path, "path"))


# --- CARP (carp(4)) -----------------------------------------------------------------------


def carp_demotion_adjust(delta: int) -> Cmd:
    """Relative: the kernel adds `delta` to net.inet.carp.demotion (carp(4)), so restoring
    is the same command with -delta, whatever else (pfsync, link loss) demoted the node."""
    if isinstance(delta, bool) or not isinstance(delta, int) or not -255 <= delta <= 255:
        raise UnsafeValue(f"demotion delta {delta!r} is not allowed")
    return _argv("sysctl", f"net.inet.carp.demotion={delta}")


def sysctl_read(oid: str) -> Cmd:
    return _argv("sysctl", _check(_SYSCTL_OID, oid, "sysctl"))


def demotion_persist_line(delta: int) -> str:
    """The sysctl.conf.local line rc.d/sysctl re-applies at boot (made relative too)."""
    carp_demotion_adjust(delta)
    return f"net.inet.carp.demotion={delta}\n"


# --- HAProxy runtime API ------------------------------------------------------------------

HAPROXY_STATES = ("ready", "drain", "maint")


def _socat(request: str, redirect_to: str | None = None) -> Cmd:
    script = f"echo {shlex.quote(request)} | socat stdio {HAPROXY_SOCKET}"
    argv = ("echo", request, "|", "socat", "stdio", HAPROXY_SOCKET)
    if redirect_to is not None:
        script += f" > {shlex.quote(redirect_to)}"
        argv += (">", redirect_to)
    return Cmd(argv, script)


def haproxy_set_state(backend: str, server: str, state: str) -> Cmd:
    _check(_NAME, backend, "backend")
    _check(_NAME, server, "server")
    if state not in HAPROXY_STATES:
        raise UnsafeValue(f"HAProxy state {state!r} is not allowed")
    return _socat(f"set server {backend}/{server} state {state}")


def haproxy_save_state() -> Cmd:
    """Save the runtime state where `load-server-state-from-file global` reads it, so a
    reload keeps a server in MAINT."""
    return _socat("show servers state", HAPROXY_STATE_FILE)


def haproxy_show_stat() -> Cmd:
    return _socat("show stat")


# --- pf -----------------------------------------------------------------------------------


def pf_check(path: str) -> Cmd:
    return _argv("pfctl", "-nf", _check(_PATH, path, "ruleset"))


def pf_load(path: str) -> Cmd:
    return _argv("pfctl", "-f", _check(_PATH, path, "ruleset"))


def pf_show_rules() -> Cmd:
    return _argv("pfctl", "-sr")


def pf_arm_revert(saved: str, seconds: int) -> Cmd:
    """A host-side dead man: daemon(8) detaches a timer that reloads the saved ruleset, so a
    ruleset that cuts management access reverts without nyiops reaching the host."""
    _check(_PATH, saved, "saved ruleset")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 10 <= seconds <= 3600:
        raise UnsafeValue(f"revert delay {seconds!r} is not allowed")
    inner = f"sleep {seconds}; pfctl -f {shlex.quote(saved)}"
    return _argv("daemon", "-f", "-p", PF_REVERT_PIDFILE, "sh", "-c", inner)


def pf_cancel_revert() -> Cmd:
    return _argv("pkill", "-F", PF_REVERT_PIDFILE)


# --- gmirror ------------------------------------------------------------------------------


def gmirror_forget(mirror: str) -> Cmd:
    return _argv("gmirror", "forget", _check(_GEOM, mirror, "mirror"))


def gmirror_insert(mirror: str, provider: str) -> Cmd:
    return _argv(
        "gmirror",
        "insert",
        _check(_GEOM, mirror, "mirror"),
        _check(_PROVIDER, provider, "provider"),
    )


def gmirror_remove(mirror: str, provider: str) -> Cmd:
    return _argv(
        "gmirror",
        "remove",
        _check(_GEOM, mirror, "mirror"),
        _check(_PROVIDER, provider, "provider"),
    )


def gmirror_list(mirror: str) -> Cmd:
    return _argv("gmirror", "list", _check(_GEOM, mirror, "mirror"))


def fsck_ufs(provider: str) -> Cmd:
    return _argv("fsck_ufs", "-p", "/dev/" + _check(_PROVIDER, provider, "provider"))


def mount(provider: str, mountpoint: str) -> Cmd:
    return _argv(
        "mount",
        "/dev/" + _check(_PROVIDER, provider, "provider"),
        _check(_PATH, mountpoint, "mount point"),
    )


def umount(mountpoint: str) -> Cmd:
    return _argv("umount", _check(_PATH, mountpoint, "mount point"))


# --- ZFS ----------------------------------------------------------------------------------


def zpool_replace(pool: str, old: str, new: str) -> Cmd:
    return _argv(
        "zpool",
        "replace",
        _check(_POOL, pool, "pool"),
        _check(_VDEV, old, "old device"),
        _check(_VDEV, new, "new device"),
    )


def zpool_status(pool: str) -> Cmd:
    return _argv("zpool", "status", "-p", _check(_POOL, pool, "pool"))


def zfs_snapshot(dataset: str, snapshot: str) -> Cmd:
    _check(_DATASET, dataset, "dataset")
    _check(_SNAPSHOT, snapshot, "snapshot")
    return _argv("zfs", "snapshot", f"{dataset}@{snapshot}")


def zfs_clone(dataset: str, snapshot: str, new: str, quota: str) -> Cmd:
    _check(_DATASET, dataset, "dataset")
    _check(_SNAPSHOT, snapshot, "snapshot")
    return _argv(
        "zfs",
        "clone",
        "-o",
        f"quota={_check(_SIZE, quota, 'quota')}",
        f"{dataset}@{snapshot}",
        _check(_DATASET, new, "new dataset"),
    )


def zfs_create(dataset: str, quota: str, mountpoint: str) -> Cmd:
    return _argv(
        "zfs",
        "create",
        "-o",
        f"quota={_check(_SIZE, quota, 'quota')}",
        "-o",
        f"mountpoint={_check(_PATH, mountpoint, 'mount point')}",
        _check(_DATASET, dataset, "dataset"),
    )


def zfs_destroy(dataset: str, snapshot: str | None = None, *, recursive: bool = False) -> Cmd:
    name = _check(_DATASET, dataset, "dataset")
    if snapshot is not None:
        name += "@" + _check(_SNAPSHOT, snapshot, "snapshot")
    return _argv("zfs", "destroy", *(["-r"] if recursive else []), name)


def zfs_set_quota(dataset: str, quota: str) -> Cmd:
    return _argv(
        "zfs", "set", f"quota={_check(_SIZE, quota, 'quota')}", _check(_DATASET, dataset, "dataset")
    )


def zfs_list(dataset: str) -> Cmd:
    return _argv(
        "zfs", "list", "-H", "-o", "name,used,avail,quota", _check(_DATASET, dataset, "ds")
    )


# --- jails --------------------------------------------------------------------------------


def jail_service(action: str, name: str) -> Cmd:
    if action not in ("start", "stop", "restart"):
        raise UnsafeValue(f"jail action {action!r} is not allowed")
    return _argv("service", "jail", action, _check(_JAIL, name, "jail"))


def jail_create(name: str) -> Cmd:
    return _argv("jail", "-c", _check(_JAIL, name, "jail"))


def jail_remove(name: str) -> Cmd:
    return _argv("jail", "-r", _check(_JAIL, name, "jail"))


def jail_show(name: str) -> Cmd:
    return _argv("jls", "-j", _check(_JAIL, name, "jail"))


def jail_conf_path(name: str) -> str:
    return f"/etc/jail.conf.d/{_check(_JAIL, name, 'jail')}.conf"


# --- backups ------------------------------------------------------------------------------


def run_script(path: str, *args: str) -> Cmd:
    """An installed script with validated word arguments (the backup job wrapper)."""
    _check(_PATH, path, "script")
    for a in args:
        _check(_NAME, a, "argument")
    return _argv(path, *args)
