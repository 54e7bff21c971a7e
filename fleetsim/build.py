"""Build a host's initial state from its spec entry (plus its cluster and backup jobs)."""

from __future__ import annotations

import hashlib
import ipaddress
import random

from .backups import seed_history
from .rng import rng_for

GIB = 1 << 30
DISK_BYTES = 1000204886016  # a 1 TB disk, as diskinfo reports it
DEFAULT_RULES = [
    "scrub in all fragment reassemble",
    "block drop in log all",
    "pass out quick all flags S/SA keep state",
    "pass in quick on lo0 all flags S/SA keep state",
    "pass in quick proto tcp from any to any port = ssh flags S/SA keep state",
]
ROLE_RULES = {
    "firewall": [
        "pass quick on {sync} proto pfsync all keep state (no-sync)",
        "pass quick proto carp all keep state (no-sync)",
        "pass in quick proto tcp from any to <customer_nets> port = http flags S/SA keep state",
        "pass in quick proto tcp from any to <customer_nets> port = https flags S/SA keep state",
    ],
    "loadbalancer": [
        "pass quick proto carp all keep state (no-sync)",
        "pass in quick proto tcp from any to any port = https flags S/SA keep state",
    ],
    "jailhost": [
        "pass quick proto carp all keep state (no-sync)",
        "pass in quick proto udp from any to any port = domain keep state",
    ],
    "storage": [
        "pass in quick proto tcp from <backup_clients> to any port = ssh flags S/SA keep state"
    ],
}


def mac(name: str, idx: int) -> str:
    h = hashlib.sha256(f"{name}/{idx}".encode()).digest()
    return "00:25:90:" + ":".join(f"{b:02x}" for b in h[:3])


def host(h: dict, spec: dict, now: float) -> dict:
    name = h["name"]
    rnd = rng_for(name)
    init = h.get("initial", {})
    domain = spec["defaults"].get("domain", "example.net")
    state = {
        "name": name,
        "fqdn": f"{name}.{h.get('site') or 'core'}.{domain}",
        "version": h["version"],
        "roles": list(h["roles"]),
        "up": True,
        "disks": list(h["disks"]),
        "boot_time": now
        - h.get("uptime_days", rnd.randint(3, 200)) * 86400
        - rnd.randint(0, 86399),
        "load": [round(rnd.uniform(0.05, 0.6), 2) for _ in range(3)],
        "interfaces": [],
        "carp": [],
        "pfsync": None,
        "files": {},
        "log": [],
    }
    for idx, (ifname, addrs) in enumerate(h["interfaces"].items()):
        inet = []
        for a in addrs if isinstance(addrs, list) else [addrs]:
            iface = ipaddress.ip_interface(a)
            inet.append([str(iface.ip), iface.network.prefixlen])
        state["interfaces"].append({"name": ifname, "mac": mac(name, idx), "inet": inet})
    sysctl = {
        "net.inet.carp.allow": 1,
        "net.inet.carp.preempt": 0,
        "net.inet.carp.log": 1,
        "net.inet.carp.demotion": 0,
        "net.inet.carp.ifdown_demotion_factor": 240,
        "net.inet.carp.senderr_demotion_factor": 240,
        "net.inet.carp.dscp": 56,
        "net.pfsync.carp_demotion_factor": 240,
    }
    _cluster(state, h, spec, sysctl, now)
    sysctl.update(h.get("sysctl", {}))
    state["sysctl"] = sysctl
    rules = list(DEFAULT_RULES)
    for role in h["roles"]:
        sync = state["pfsync"]["syncdev"] if state["pfsync"] else "em1"
        rules += [r.replace("{sync}", sync) for r in ROLE_RULES.get(role, [])]
    rules = h.get("pf_rules", "\n".join(rules)).strip().splitlines()
    base = 40 + rnd.randint(0, 200) + (9000 if "firewall" in h["roles"] else 0)
    state["pf"] = {
        "enabled": True,
        "since": state["boot_time"] + 40,
        "rules": rules,
        "base_states": base,
        "rate": rnd.uniform(50, 400),
    }
    state["files"]["/etc/pf.conf"] = "\n".join(rules) + "\n"
    state["mirrors"] = [_mirror(m, init) for m in h["mirrors"]]
    state["pools"] = [_pool(p, init, rnd, now) for p in h["pools"]]
    state["datasets"] = _datasets(state, h, spec)
    state["snapshots"] = []
    state["jails"], jid = [], 0
    for j in h["jails"]:
        jid += 1
        ip = j.get("ip4")
        state["jails"].append(
            {
                "name": j["name"],
                "hostname": j.get("hostname", f"{j['name']}.{domain}"),
                "ip4": str(ipaddress.ip_interface(ip).ip) if ip else "",
                "path": j.get("path", f"/jails/{j['name']}"),
                "interface": j.get("interface"),
                "running": j.get("running", True),
                "jid": jid if j.get("running", True) else 0,
            }
        )
    state["next_jid"] = jid + 1
    state["haproxy"] = _haproxy(h["haproxy"], rnd, now) if h.get("haproxy") else None
    state["backups"] = {}
    for job in spec["backup_jobs"]:
        if job["target"] == name:
            seed_history(state, job, now)
    return state


def _cluster(state, h, spec, sysctl, now) -> None:
    for cl in spec["clusters"]:
        me = next((m for m in cl["members"] if m["host"] == h["name"]), None)
        if me is None:
            continue
        carp = cl.get("carp") or {}
        if "preempt" in carp:
            sysctl["net.inet.carp.preempt"] = int(carp["preempt"])
        for v in carp.get("vhids", []):
            vip = ipaddress.ip_interface(v["vip"])
            state["carp"].append(
                {
                    "vhid": v["vhid"],
                    "interface": v["interface"],
                    "cluster": cl["name"],
                    "vip": [str(vip.ip), vip.network.prefixlen],
                    "advbase": int(v.get("advbase", carp.get("advbase", 1))),
                    "advskew": int(me.get("advskew", 0)),
                    "state": "MASTER" if me["role"] == "primary" else "BACKUP",
                    "last_heard": now,
                    "next_ad": now,
                }
            )
        if cl.get("pfsync"):
            dev = cl["pfsync"]["syncdev"]
            peers = [m["host"] for m in cl["members"] if m["host"] != h["name"]]
            peer_host = next(x for x in spec["hosts"] if x["name"] == peers[0]) if peers else None
            peer_addr = ""
            if peer_host:
                a = peer_host["interfaces"][dev]
                peer_addr = str(ipaddress.ip_interface(a[0] if isinstance(a, list) else a).ip)
            state["pfsync"] = {
                "syncdev": dev,
                "syncpeer": peer_addr,
                "maxupd": 128,
                "bulk_until": 0.0,
                "cluster": cl["name"],
            }


def _mirror(m: dict, init: dict) -> dict:
    sync = init.get("mirror_sync", {}).get(m["name"])
    comps = []
    for i, disk in enumerate(m["components"]):
        syncing = sync is not None and i == len(m["components"]) - 1
        comps.append(
            {
                "disk": disk,
                "state": "SYNCHRONIZING" if syncing else "ACTIVE",
                "pct": float(sync) if syncing else 100.0,
                "present": True,
                "id": int.from_bytes(hashlib.sha256(disk.encode()).digest()[:4], "big"),
            }
        )
    size = m.get("size_gb", 8) * GIB
    return {
        "name": m["name"],
        "balance": m.get("balance", "load"),
        "components": comps,
        "configured": len(comps),
        "size": size,
        "rate": m.get("rebuild_pct_per_s", 2.0),
        "id": int.from_bytes(hashlib.sha256(m["name"].encode()).digest()[:4], "big"),
    }


def _pool(p: dict, init: dict, rnd: random.Random, now: float) -> dict:
    size = int(p.get("size_gb", 440) * GIB)
    alloc = int(size * p.get("used_pct", 30) / 100)
    faulted = set(init.get("faulted", []))
    cksum = init.get("cksum", {})
    vdevs = []
    for v in p["vdevs"]:
        devs = [
            {
                "name": d,
                "state": "FAULTED" if d in faulted else "ONLINE",
                "read": 0,
                "write": 0,
                "cksum": int(cksum.get(d, 0)),
            }
            for d in v["devices"]
        ]
        vdevs.append({"type": v.get("type", "mirror"), "devices": devs})
    scrub_pct = init.get("scrub", {}).get(p["name"])
    last = now - rnd.randint(1, 27) * 86400
    if scrub_pct is not None:
        rate = p.get("scrub_pct_per_s", 0.01)
        scan = {
            "kind": "scrub",
            "running": True,
            "start": now - scrub_pct / rate,
            "pct": float(scrub_pct),
        }
    else:
        scan = {
            "kind": "scrub",
            "running": False,
            "start": last,
            "end": last + 1900,
            "pct": 100.0,
            "repaired": 0,
            "errors": 0,
        }
    return {
        "name": p["name"],
        "size": size,
        "alloc": alloc,
        "frag": rnd.randint(2, 25),
        "vdevs": vdevs,
        "scan": scan,
        "rate": p.get("resilver_pct_per_s", 2.0),
        "scrub_rate": p.get("scrub_pct_per_s", 0.01),
    }


def _datasets(state: dict, h: dict, spec: dict) -> list[list]:
    """[name, used, refer, mountpoint] for every filesystem."""
    out = []
    for pool in state["pools"]:
        a, n = pool["alloc"], pool["name"]
        if n == "zroot":
            layout = [
                ("zroot", 1.0, "/zroot"),
                ("zroot/ROOT", 0.3, "none"),
                ("zroot/ROOT/default", 0.3, "/"),
                ("zroot/home", 0.05, "/home"),
                ("zroot/tmp", 0.01, "/tmp"),  # noqa: S108 - a mountpoint, not a temp file
                ("zroot/usr", 0.04, "/usr"),
                ("zroot/var", 0.2, "/var"),
                ("zroot/var/log", 0.15, "/var/log"),
            ]
            if h["jails"]:
                layout.append(("zroot/jails", 0.3, "/jails"))
                for j in h["jails"]:
                    layout.append(
                        (f"zroot/jails/{j['name']}", 0.3 / len(h["jails"]), f"/jails/{j['name']}")
                    )
        else:
            layout = [(n, 1.0, f"/{n}")]
            jobs = [j for j in spec["backup_jobs"] if j["target"] == h["name"]]
            parents = sorted(
                {j["dataset"].rsplit("/", 1)[0] for j in jobs if j["dataset"].startswith(n + "/")}
            )
            layout += [(p, 0.9, f"/{p}") for p in parents if p != n]
            layout += [
                (j["dataset"], 0.9 / max(1, len(jobs)), "/" + j["dataset"])
                for j in jobs
                if j["dataset"].startswith(n + "/")
            ]
        for ds, frac, mnt in layout:
            used = int(a * frac)
            out.append([ds, used, max(98304, used // 3) if frac >= 0.9 else used, mnt])
    return out


def _haproxy(hap: dict, rnd: random.Random, now: float) -> dict:
    backends = []
    for b in hap["backends"]:
        servers = []
        for i, s in enumerate(b.get("servers", [])):
            rise, fall = int(s.get("rise", 2)), int(s.get("fall", 3))
            healthy = s.get("healthy", True)
            addr, _, port = str(s["addr"]).rpartition(":")
            servers.append(
                {
                    "name": s["name"],
                    "addr": addr,
                    "port": int(port or 80),
                    "sid": i + 1,
                    "rise": rise,
                    "fall": fall,
                    "inter": float(s.get("inter", hap.get("inter", 2))),
                    "health": rise + fall - 1 if healthy else 0,
                    "up": healthy,
                    "admin": {"drain": 0x08, "maint": 0x01}.get(s.get("admin", "ready"), 0),
                    "healthy": healthy,
                    "lastchg": now - rnd.randint(3600, 900000),
                    "last_check": now,
                    "weight": int(s.get("weight", 1)),
                    "backup": bool(s.get("backup", False)),
                    "chkfail": 0,
                    "chkdown": 0,
                    "base_sessions": rnd.randint(2, 40),
                    "rate": rnd.uniform(2, 30),
                }
            )
        backends.append(
            {"name": b["name"], "balance": b.get("balance", "roundrobin"), "servers": servers}
        )
    frontends = [
        {"name": f["name"], "bind": f.get("bind", "*:80")} for f in hap.get("frontends", [])
    ]
    return {
        "pid": rnd.randint(1000, 90000),
        "start": now - rnd.randint(86400, 40 * 86400),
        "version": hap.get("version", "2.8.14-1a82cdf"),
        "release": "2025/01/29",
        "frontends": frontends,
        "backends": backends,
    }
