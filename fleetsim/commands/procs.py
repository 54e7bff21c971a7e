"""Background processes: daemon(8), pkill/pgrep -F, and the scripts they run in simulated time.

`daemon -f -p PIDFILE sh -c 'sleep 300; pfctl -f SAVED'` is the dead-man revert of a pf
change: it must fire on the host even when nyiops can no longer reach it. A process is a
record in ``host["procs"]`` (persisted, so it survives a fleetsim restart) holding its
script, the position reached and when it wakes; `sleep N` at the top level of the script
suspends it for N simulated seconds, anything else runs through the host's shell when
the process is due. A reboot ends every process (``kill_all``).

Must not block: nothing here waits in real time.
"""

from __future__ import annotations

import shlex

from .. import dynamics
from ..shell import ShellSyntaxError, Word, parse
from ..vfs import FsError, View, norm
from .registry import Drop, Hang, command, shell_for, usage

FIRST_PID = 40000
HUNG = 1e18  # a wake time that never comes (JSON has no infinity)


def procs(host: dict) -> list[dict]:
    return host.setdefault("procs", [])


def new_pid(host: dict) -> int:
    pid = host.get("next_pid", FIRST_PID)
    host["next_pid"] = pid + 1
    return pid


def alive(host: dict, pid: int) -> dict | None:
    return next((p for p in procs(host) if p["pid"] == pid), None)


def end(fleet, name: str, proc: dict) -> None:
    """The process is gone: daemon(8) removes the pidfile it holds."""
    host = fleet.hosts[name]
    host["procs"] = [p for p in procs(host) if p is not proc]
    if proc.get("pidfile"):
        host["files"].pop(proc["pidfile"], None)
    fleet.mark(name)


def kill_all(fleet, name: str) -> None:
    for proc in list(procs(fleet.hosts[name])):
        end(fleet, name, proc)


def _sleep_seconds(pipeline: list) -> float | None:
    """N when this list item is a bare `sleep N`, else None."""
    if len(pipeline) != 1 or not all(isinstance(w, Word) for w in pipeline[0]):
        return None
    words = ["".join(v for _, v in w.parts) for w in pipeline[0]]
    if len(words) == 2 and words[0] in ("sleep", "/bin/sleep"):
        try:
            return max(0.0, float(words[1]))
        except ValueError:
            return None
    return None


def step(fleet, now: float) -> None:
    """Run what is due in every host's background processes (a dynamics hook)."""
    for name, host in fleet.hosts.items():
        if not host.get("procs") or not host.get("up", True):
            continue
        for proc in list(host["procs"]):
            _advance(fleet, name, proc, now)


def _advance(fleet, name: str, proc: dict, now: float) -> None:
    try:
        items = parse(proc["script"])
    except ShellSyntaxError:
        end(fleet, name, proc)
        return
    while proc["wake"] <= now:
        if proc["pos"] >= len(items):
            end(fleet, name, proc)
            return
        connector, pipeline = items[proc["pos"]]
        proc["pos"] += 1
        skip = (connector == "&&" and proc["rc"] != 0) or (connector == "||" and proc["rc"] == 0)
        if skip:
            continue
        seconds = _sleep_seconds(pipeline)
        if seconds is not None:
            proc["wake"] += seconds
            proc["rc"] = 0
            continue
        sh = shell_for(fleet, name)
        sh.rc = proc["rc"]
        try:
            sh.run_items([(None, pipeline)])
        except Hang:  # hang-command: the process blocks there for good
            proc["wake"] = HUNG
            break
        except Drop:  # no connection to drop in the background
            pass
        proc["rc"] = sh.rc
        fleet.log(name, f"daemon[{proc['pid']}]: ran {proc['argv']}: exit {sh.rc}")
    fleet.mark(name)


dynamics.HOOKS.append(step)


@command("daemon")
def daemon(ctx, args, stdin):
    """daemon [-cfrS] [-p child_pidfile] [-P supervisor_pidfile] [-t title] command ..."""
    pidfile = None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        a = args[i]
        if a == "--":
            i += 1
            break
        if a[-1] in "pPtuolmsTRe" and len(a) == 2:
            if i + 1 >= len(args):
                return usage(f"daemon: option requires an argument -- {a[-1]}")
            if a in ("-p", "-P"):
                pidfile = args[i + 1]
            i += 2
            continue
        i += 1
    argv = args[i:]
    if not argv:
        return usage(
            "usage: daemon [-cfHrS] [-p child_pidfile] [-P supervisor_pidfile]\n"
            "              [-u user] [-o output_file] [-t title]\n"
            "              [-l syslog_facility] [-s syslog_priority]\n"
            "              [-T syslog_tag] [-m output_mask] [-R restart_delay_secs]\n"
            "command arguments ..."
        )
    host, view = ctx.host, View(ctx.fleet, ctx.name)
    if pidfile:
        try:
            other = int(view.read(pidfile).strip() or 0)
        except (FsError, ValueError):
            other = 0
        if other and alive(host, other):
            return usage(f"daemon: process already running, pid: {other}", 3)
    script = argv[2] if argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"]) and len(argv) > 2 else None
    script = script if script is not None else shlex.join(argv)
    pid = new_pid(host)
    if pidfile:
        try:
            view.write(pidfile, f"{pid}\n")
        except FsError as exc:
            return usage(f"daemon: pidfile ``{pidfile}'': {exc}", 2)
    procs(host).append(
        {
            "pid": pid,
            "argv": shlex.join(argv),
            "script": script,
            "pos": 0,
            "rc": 0,
            "wake": ctx.now,
            "start": ctx.now,
            "pidfile": view_path(pidfile),
        }
    )
    ctx.write()
    return "", "", 0


def view_path(path: str | None) -> str | None:
    return norm(path) if path else None


def _pid_from(ctx, tool: str, pidfile: str) -> tuple[int | None, tuple | None]:
    """pkill.c takepid(): the pid in the file, or the error pkill exits with (status 3)."""
    try:
        text = View(ctx.fleet, ctx.name).read(pidfile)
    except FsError as exc:
        return None, usage(f"{tool}: Cannot open pidfile `{pidfile}': {exc}", 3)
    line = text.split("\n", 1)[0].strip()
    if not line:
        return None, usage(f"{tool}: Pidfile `{pidfile}' is empty", 3)
    if not line.isdigit():
        return None, usage(f"{tool}: Invalid pid in file `{pidfile}'", 3)
    return int(line), None


def _pkill(ctx, args, tool: str):
    pidfile, rest, i = None, [], 0
    while i < len(args):
        if args[i] == "-F" and i + 1 < len(args):
            pidfile = args[i + 1]
            i += 2
            continue
        rest.append(args[i])
        i += 1
    if pidfile is None:
        return usage(
            f"usage: {tool} [-{'signal' if tool == 'pkill' else ''}] [-ILfilnovx] [-F pidfile] "
            "[-G gid] [-M core] [-N system]\n             [-P ppid] [-U uid] [-c class] "
            "[-g pgrp] [-j jail]\n             [-s sid] [-t tty] [-u euid] pattern ...",
            2,
        )
    pid, error = _pid_from(ctx, tool, pidfile)
    if error:
        return error
    proc = alive(ctx.host, pid)
    if proc is None:
        return "", "", 1
    if tool == "pgrep":
        return f"{pid}\n", "", 0
    end(ctx.fleet, ctx.name, proc)
    ctx.fleet.log(ctx.name, f"daemon[{pid}]: terminated by signal 15")
    return "", "", 0


@command("pkill")
def pkill(ctx, args, stdin):
    return _pkill(ctx, args, "pkill")


@command("pgrep")
def pgrep(ctx, args, stdin):
    return _pkill(ctx, args, "pgrep")
