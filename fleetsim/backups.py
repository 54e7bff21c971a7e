"""rsync backup jobs run by storage hosts: stats in rsync 3.2's shape, logs, ZFS snapshots.

A job's runtime lives in its target host's state (``host["backups"][job]``) next to the
snapshots it made, so one host file holds everything the poller reads from that host.
"""

from __future__ import annotations

import time

from .rng import rng_for

RSYNC_VERSION = "3.2.7"
KEEP_SNAPSHOTS = 14
# code -> (message, source location, whether rsync still printed its --stats)
RSYNC_ERRORS = {
    1: ("syntax or usage error", "main.c(1795)", False),
    2: ("protocol incompatibility", "compat.c(610)", False),
    3: ("errors selecting input/output files, dirs", "main.c(778)", False),
    4: ("requested action not supported", "main.c(1663)", False),
    5: ("error starting client-server protocol", "main.c(1863)", False),
    10: ("error in socket IO", "io.c(232)", False),
    11: ("error in file IO", "receiver.c(871)", True),
    12: ("error in rsync protocol data stream", "io.c(232)", False),
    20: ("received SIGINT, SIGTERM, or SIGHUP", "rsync.c(713)", False),
    23: ("some files/attrs were not transferred (see previous errors)", "main.c(1338)", True),
    24: ("some files vanished before they could be transferred", "main.c(1338)", True),
    25: ("the --max-delete limit stopped deletions", "main.c(1351)", True),
    30: ("timeout in data send/receive", "io.c(201)", False),
    35: ("timeout waiting for daemon connection", "socket.c(278)", False),
}
CAUSES = {
    10: "rsync: read error: Connection reset by peer (54)",
    12: "rsync: connection unexpectedly closed (1282 bytes received so far) [Receiver]",
    23: 'rsync: [generator] chgrp "/var/db/mysql/.my.cnf" failed: Operation not permitted (1)',
    24: 'file has vanished: "/var/log/nginx/access.log.0.bz2"',
    255: "ssh: connect to host {src} port 22: Connection refused\n"
    "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]",
}


def n(x: int) -> str:
    return f"{x:,}"


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def stats_text(job: dict, run_no: int, duration: float) -> str:
    rnd = rng_for(job["name"], run_no)
    dirs = rnd.randint(800, 9000)
    regs = dirs * rnd.randint(6, 14)
    total = regs * rnd.randint(40_000, 400_000)
    moved = rnd.randint(20, 900)
    created = rnd.randint(0, moved // 3)
    xfer = moved * rnd.randint(20_000, 3_000_000)
    flist = (regs + dirs) * 19
    sent = rnd.randint(200_000, 3_000_000)
    recv = xfer // 3 + flist
    return (
        f"Number of files: {n(regs + dirs)} (reg: {n(regs)}, dir: {n(dirs)})\n"
        f"Number of created files: {n(created)}"
        + (f" (reg: {n(created)})\n" if created else "\n")
        + "Number of deleted files: 0\n"
        f"Number of regular files transferred: {n(moved)}\n"
        f"Total file size: {n(total)} bytes\n"
        f"Total transferred file size: {n(xfer)} bytes\n"
        f"Literal data: {n(xfer // 3)} bytes\n"
        f"Matched data: {n(xfer - xfer // 3)} bytes\n"
        f"File list size: {n(flist)}\n"
        f"File list generation time: {rnd.uniform(0.001, 0.9):.3f} seconds\n"
        f"File list transfer time: 0.000 seconds\n"
        f"Total bytes sent: {n(sent)}\n"
        f"Total bytes received: {n(recv)}\n\n"
        f"sent {n(sent)} bytes  received {n(recv)} bytes  "
        f"{(sent + recv) / max(duration, 1):,.2f} bytes/sec\n"
        f"total size is {n(total)}  speedup is {total / (sent + recv):,.2f}\n"
    )


def rsync_output(job: dict, run_no: int, code: int, duration: float) -> tuple[str, str]:
    """(stdout, stderr) of `rsync -a --stats` exiting with ``code``."""
    if code == 0:
        return stats_text(job, run_no, duration), ""
    msg, where, with_stats = RSYNC_ERRORS.get(code, ("unexplained error", "io.c(232)", False))
    cause = CAUSES.get(
        code, f'rsync: [receiver] write failed on "/{job["dataset"]}": Input/output error (5)'
    ).replace("{src}", job["source"])
    word = "warning" if code == 24 else "error"
    err = f"{cause}\nrsync {word}: {msg} (code {code}) at {where} [generator={RSYNC_VERSION}]\n"
    return (stats_text(job, run_no, duration) if with_stats else ""), err


def run(host: dict, job: dict, start: float, end: float, code: int) -> tuple[str, str, int]:
    """Record one run of ``job`` on its target ``host``; return rsync's output."""
    rec = host["backups"].setdefault(job["name"], {"runs": 0, "paused": False})
    rec["runs"] += 1
    out, err = rsync_output(job, rec["runs"], code, end - start)
    snap = "-"
    if code in (0, 24):
        snap = f"{job['dataset']}@nyiops-{time.strftime('%Y-%m-%dT%H%M', time.gmtime(end))}"
        rnd = rng_for(job["name"], rec["runs"], "snap")
        refer = next((d[2] for d in host["datasets"] if d[0] == job["dataset"]), 1 << 30)
        host["snapshots"].append([snap, int(end), rnd.randint(1 << 20, 1 << 31), refer])
        mine = [s for s in host["snapshots"] if s[0].startswith(job["dataset"] + "@")]
        for old in mine[:-KEEP_SNAPSHOTS]:
            host["snapshots"].remove(old)
    rec.update(
        {"start": start, "end": end, "exit": code, "snapshot": snap, "stdout": out, "stderr": err}
    )
    rec["next_run"] = start + job["schedule_minutes"] * 60
    return out, err, code


def log_text(rec: dict, job_name: str) -> str:
    if "start" not in rec:
        return ""
    body = rec["stdout"] + rec["stderr"]
    if rec["stderr"] and rec["stdout"]:
        # rsync prints its per-file errors while transferring, the summary error last
        *causes, last = rec["stderr"].rstrip("\n").split("\n")
        body = "\n".join(causes) + "\n" + rec["stdout"] + last + "\n"
    return (
        f"=== nyiops-backup {job_name} start {iso(rec['start'])}\n{body}"
        f"=== nyiops-backup {job_name} end {iso(rec['end'])} exit {rec['exit']} "
        f"snapshot {rec['snapshot']}\n"
    )


def seed_history(host: dict, job: dict, now: float) -> None:
    """A week of nightly runs, so a new fleet already has snapshots and a log."""
    rnd = rng_for(job["name"], "seed")
    stale = int(job.get("stale_days", 0))
    day0 = now - now % 86400 + 3 * 3600 + rnd.randint(0, 1800)
    if day0 > now:
        day0 -= 86400
    days = range(7 + stale, stale - 1, -1)
    for i, d in enumerate(days):
        start = day0 - d * 86400
        last = i == len(days) - 1
        code = int(job.get("last_exit", 0)) if last else 0
        run(host, job, start, start + rnd.randint(120, 1500), code)
    rec = host["backups"][job["name"]]
    rec["paused"] = bool(job.get("paused", False) or stale)
    rec["next_run"] = rec["start"] + job["schedule_minutes"] * 60
