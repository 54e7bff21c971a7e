"""Time-driven behaviour: CARP elections, pfsync bulk updates, gmirror rebuilds, zpool
resilvers and scrubs, HAProxy health checks, scheduled backups.

``advance(fleet, now)`` moves the fleet from ``fleet.last_step`` to ``now``. CARP is a
small discrete-event simulation per vhid (advertisements every advbase + skew/256 s, a
BACKUP declares the master down 3*advbase + advskew/256 s after the last advertisement it
heard), so failover timing follows carp(4) at any step size. A gap longer than CATCH_UP
(a restart, `fleetsim exec` run cold) is assumed steady: nothing is elected retroactively.
"""

from __future__ import annotations

from . import backups

# late-bound steps of other modules (background processes): they import this one
HOOKS: list = []
CATCH_UP = 60.0
MAX_EVENTS = 2000  # per vhid per step; bounds the loop whatever the step size
SCRUB_EVERY = 35 * 86400
MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40


def advance(fleet, now: float) -> None:
    dt = now - fleet.last_step
    if dt <= 0:
        return
    jump = dt > CATCH_UP
    for cl in fleet.clusters.values():
        if cl.get("carp"):
            carp_cluster(fleet, cl, now, jump)
    for name, host in fleet.hosts.items():
        if not host.get("up", True):
            continue
        if host["pfsync"]:
            pfsync(fleet, name, host, now)
        storage(fleet, name, host, dt, now)
        if host["haproxy"]:
            haproxy(fleet, name, host, now)
        if host["backups"]:
            backup_jobs(fleet, name, host, now)
    for hook in HOOKS:
        hook(fleet, now)
    fleet.last_step = now
    fleet.mark()


# --- CARP -------------------------------------------------------------------------------


def demotion(fleet, host: str) -> int:
    return int(fleet.hosts[host]["sysctl"]["net.inet.carp.demotion"])


def adv_interval(fleet, host: str, e: dict) -> float:
    # carp.c DEMOTE_ADVSKEW(): advskew + demotion, clamped to 0..CARP_MAXSKEW (240)
    return e["advbase"] + min(max(e["advskew"] + demotion(fleet, host), 0), 240) / 256


def refuses_master(fleet, host: str, e: dict) -> bool:
    """The `refuse-master VHID` fault: this node never takes MASTER on that vhid."""
    return any(int(f["args"][0]) == e["vhid"] for f in fleet.host_faults(host, "refuse-master"))


def set_state(fleet, host: str, e: dict, new: str, why: str) -> None:
    if e["state"] != new:
        why = f" ({why})" if why else ""
        fleet.log(host, f"carp: VHID {e['vhid']}@{e['interface']}: {e['state']} -> {new}{why}")
        e["state"] = new
    fleet.mark(host)


def carp_cluster(fleet, cl: dict, now: float, jump: bool) -> None:
    groups: dict[int, list] = {}
    for m in cl["members"]:
        for e in fleet.hosts[m["host"]]["carp"]:
            if e["cluster"] == cl["name"]:
                groups.setdefault(e["vhid"], []).append((m["host"], e))
    linked = not fleet.cluster_fault(cl["name"], "split-brain")
    for nodes in groups.values():
        if jump:
            for _h, e in nodes:
                e["next_ad"], e["last_heard"] = now, now
        carp_group(fleet, nodes, now, linked)


def _active(fleet, host: str, e: dict) -> bool:
    h = fleet.hosts[host]
    return h.get("up", True) and h["sysctl"]["net.inet.carp.allow"] == 1 and e["state"] != "INIT"


def carp_group(fleet, nodes: list, now: float, linked: bool) -> None:
    for _ in range(MAX_EVENTS):
        best = None
        for i, (h, e) in enumerate(nodes):
            if not _active(fleet, h, e):
                continue
            if e["state"] == "MASTER":
                t = e["next_ad"]
            else:
                t = e["last_heard"] + 3 * e["advbase"] + e["advskew"] / 256
            if t <= now and (best is None or t < best[0]):
                best = (t, i)
        if best is None:
            return
        t, i = best
        host, e = nodes[i]
        if e["state"] != "MASTER":
            if refuses_master(fleet, host, e):
                e["last_heard"] = t  # it saw the timeout and stayed BACKUP
                continue
            set_state(fleet, host, e, "MASTER", "master down")
            e["next_ad"] = t
            continue
        tv = adv_interval(fleet, host, e)
        e["next_ad"] = t + tv
        for j, (h2, e2) in enumerate(nodes):
            if j != i and linked and _active(fleet, h2, e2):
                receive(fleet, h2, e2, tv, demotion(fleet, host), t)


def receive(fleet, host: str, e: dict, sender_tv: float, sender_demote: int, t: float) -> None:
    """carp_input_c(): what a node does with an advertisement heard at time t."""
    mine = adv_interval(fleet, host, e)
    if e["state"] == "MASTER":
        if mine > sender_tv or (mine == sender_tv and sender_demote <= demotion(fleet, host)):
            set_state(fleet, host, e, "BACKUP", "more frequent advertisement received")
            e["last_heard"] = t
        return
    preempt = fleet.hosts[host]["sysctl"]["net.inet.carp.preempt"]
    if refuses_master(fleet, host, e):
        e["last_heard"] = t
    elif preempt and mine < sender_tv:
        set_state(fleet, host, e, "MASTER", "preempting a slower master")
        e["next_ad"] = t
    elif sender_tv > 3 * e["advbase"]:
        set_state(fleet, host, e, "MASTER", "master will time out")
        e["next_ad"] = t
    else:
        e["last_heard"] = t


def boot(fleet, name: str, now: float) -> None:
    """A host comes back: CARP starts as BACKUP, pfsync asks for a bulk update and keeps
    CARP demoted until it completes (carp(4), pfsync(4))."""
    host = fleet.hosts[name]
    host["up"] = True
    host["boot_time"] = now - 35  # it took a while to boot before sshd answered
    for e in host["carp"]:
        e["state"] = "INIT"
        set_state(fleet, name, e, "BACKUP", "")
        e["last_heard"], e["next_ad"] = now, now
    if host["pfsync"]:
        cl = fleet.clusters.get(host["pfsync"]["cluster"], {})
        host["pfsync"]["bulk_until"] = now + float(cl.get("pfsync", {}).get("bulk_seconds", 2.0))
        host["pfsync"]["bulk_start"] = now
        demote(fleet, name, host["sysctl"]["net.pfsync.carp_demotion_factor"], "pfsync bulk start")
    jid = 1
    for j in host["jails"]:
        if j["running"]:
            j["jid"], jid = jid, jid + 1
    host["next_jid"] = jid
    if host["haproxy"]:
        host["haproxy"]["start"] = now - 5
        host["haproxy"]["pid"] += 7
    fleet.mark(name)


def demote(fleet, name: str, delta: int, why: str) -> None:
    """carp_demote_adj(): add to the demotion and advertise at once (carp_sendall_task), so
    a preempting peer hears the slower advertisement without waiting an interval."""
    host = fleet.hosts[name]
    sysctl = host["sysctl"]
    sysctl["net.inet.carp.demotion"] += delta
    fleet.log(name, f"carp: demoted by {delta} to {sysctl['net.inet.carp.demotion']} ({why})")
    now = fleet.now()
    for e in host["carp"]:
        if e["state"] == "MASTER":
            e["next_ad"] = min(e["next_ad"], now)


def pfsync(fleet, name: str, host: dict, now: float) -> None:
    ps = host["pfsync"]
    if not ps["bulk_until"] or now < ps["bulk_until"]:
        return
    link = not (
        fleet.host_faults(name, "pfsync-down") or fleet.cluster_fault(ps["cluster"], "pfsync-down")
    )
    peers = [m["host"] for m in fleet.clusters[ps["cluster"]]["members"] if m["host"] != name]
    peer_up = any(fleet.is_up(p) for p in peers)
    if link and peer_up:
        fleet.log(name, "pfsync: received bulk update end")
    elif now - ps.get("bulk_start", now) < 30:
        return  # pfsync retries the bulk request for a while before giving up
    else:
        fleet.log(name, "pfsync: failed to receive bulk update")
    ps["bulk_until"] = 0.0
    demote(fleet, name, -host["sysctl"]["net.pfsync.carp_demotion_factor"], "pfsync bulk done")


# --- storage ----------------------------------------------------------------------------


def storage(fleet, name: str, host: dict, dt: float, now: float) -> None:
    for m in host["mirrors"]:
        for c in m["components"]:
            if c["state"] == "SYNCHRONIZING" and c["present"]:
                c["pct"] = min(100.0, c["pct"] + m["rate"] * dt)
                if c["pct"] >= 100.0:
                    c["state"] = "ACTIVE"
                    fleet.log(
                        name,
                        f"GEOM_MIRROR: Device {m['name']}: rebuilding provider "
                        f"{c['disk']} finished.",
                    )
                fleet.mark(name)
    for p in host["pools"]:
        scan = p["scan"]
        if not scan.get("running"):
            if now - scan.get("end", now) > SCRUB_EVERY:
                # periodic(8) daily_scrub_zfs: scrub once the last one is 35 days old
                p["scan"] = {"kind": "scrub", "running": True, "start": now, "pct": 0.0}
                fleet.mark(name)
            continue
        rate = p["rate"] if scan["kind"] == "resilver" else p["scrub_rate"]
        scan["pct"] = min(100.0, scan["pct"] + rate * dt)
        if scan["pct"] >= 100.0:
            scan.update({"running": False, "end": now, "repaired": 0, "errors": 0})
            for v in p["vdevs"]:
                for d in v["devices"]:
                    d.pop("note", None)
                finish_replacing(v)
        fleet.mark(name)


def finish_replacing(vdev: dict) -> None:
    """A resilver that ends detaches each replaced device: the new one takes its place."""
    for i, d in enumerate(vdev["devices"]):
        new = d.get("new")
        if new:
            new.pop("note", None)
            vdev["devices"][i] = new


def start_resilver(pool: dict, now: float) -> None:
    pool["scan"] = {"kind": "resilver", "running": True, "start": now, "pct": 0.0}


# --- HAProxy ----------------------------------------------------------------------------


def check_ok(fleet, name: str, backend: str, srv: dict) -> bool:
    if not srv["healthy"]:
        return False
    want = f"{backend}/{srv['name']}"
    return not any(
        f["args"] and f["args"][0] == want for f in fleet.host_faults(name, "backend-down")
    )


def haproxy(fleet, name: str, host: dict, now: float) -> None:
    for b in host["haproxy"]["backends"]:
        for s in b["servers"]:
            checks = int((now - s["last_check"]) // s["inter"])
            if checks <= 0:
                continue
            limit = s["rise"] + s["fall"] + 1
            s["last_check"] = now if checks > limit else s["last_check"] + checks * s["inter"]
            if s["admin"] & MAINT:
                continue  # checks are suspended while in maintenance
            ok = check_ok(fleet, name, b["name"], s)
            for _ in range(min(checks, limit)):
                one_check(fleet, name, b["name"], s, ok, now)


def one_check(fleet, name: str, backend: str, s: dict, ok: bool, now: float) -> None:
    top = s["rise"] + s["fall"] - 1
    before = (s["up"], s["health"])
    if ok:
        if s["up"]:
            s["health"] = top
        else:
            s["health"] += 1
            if s["health"] >= s["rise"]:
                s["up"], s["health"], s["lastchg"] = True, top, now
                fleet.log(name, f"haproxy: Server {backend}/{s['name']} is UP")
    else:
        s["chkfail"] += 1
        if s["up"]:
            s["health"] -= 1
            if s["health"] < s["rise"]:
                s["up"], s["health"], s["lastchg"] = False, 0, now
                s["chkdown"] += 1
                fleet.log(name, f"haproxy: Server {backend}/{s['name']} is DOWN")
        else:
            s["health"] = 0
    if before != (s["up"], s["health"]):
        fleet.mark(name)


# --- backups ----------------------------------------------------------------------------


def job_exit_code(fleet, job: dict) -> int:
    for host in (job["target"], job["source"]):
        for f in fleet.host_faults(host, "backup-fail"):
            if f["args"][0] == job["name"]:
                return int(f["args"][1])
    return 0 if fleet.is_up(job["source"]) else 255


def backup_jobs(fleet, name: str, host: dict, now: float) -> None:
    for job_name, rec in host["backups"].items():
        job = fleet.jobs.get(job_name)
        if job is None:
            continue
        if rec.get("running"):
            # a run started by hand (`nyiops-backup JOB`) ends after its duration
            if backups.finish_due(host, job, now, job_exit_code(fleet, job)):
                fleet.mark(name)
            continue
        if rec.get("paused") or now < rec["next_run"]:
            continue
        start = max(rec["next_run"], now - 60)
        backups.run(host, job, start, now, job_exit_code(fleet, job))
        fleet.mark(name)
