"""Generated hosts for benchmarks: `--scale N` adds N hosts in realistic proportions.

Every 10 hosts form one customer's unit: a firewall pair (CARP + pfsync), a load-balancer
pair whose HAProxy pools the unit's three web servers, a jail host, a database host and a
storage host that pulls the web and database backups.
"""

from __future__ import annotations

from .spec import validate

UNIT = ("fw-a", "fw-b", "lb-a", "lb-b", "web1", "web2", "web3", "jails", "db", "nas")


def _host(k: int, role: str) -> dict:
    prefix = f"10.{100 + k // 256}.{k % 256}"
    n = f"s{k:04d}-{role}"
    idx = UNIT.index(role)
    h = {
        "name": n,
        "customer": f"scale{k:04d}",
        "site": "scale",
        "interfaces": {"em0": f"{prefix}.{10 + idx}/24"},
    }
    if role.startswith("fw"):
        h["roles"] = ["firewall"]
        h["interfaces"] = {
            "igb0": f"{prefix}.{10 + idx}/24",
            "igb1": f"172.{16 + k // 256}.{k % 256}.{2 + idx}/24",
            "igb2": f"10.254.{k % 256}.{1 + idx + 4 * (k // 256)}/24",
        }
    elif role.startswith("lb"):
        h["roles"] = ["loadbalancer"]
        h["haproxy"] = {
            "inter": 2,
            "frontends": [{"name": "https", "bind": f"{prefix}.5:443"}],
            "backends": [
                {
                    "name": "web",
                    "servers": [
                        {"name": f"web{i}", "addr": f"{prefix}.{13 + i}:80"} for i in (1, 2, 3)
                    ],
                }
            ],
        }
    elif role == "jails":
        h["roles"] = ["jailhost"]
        h["jails"] = [
            {"name": f"j{i}", "hostname": f"j{i}.s{k:04d}.example", "ip4": f"{prefix}.{100 + i}/32"}
            for i in range(3)
        ]
    elif role == "nas":
        h["roles"] = ["storage"]
        h["disks"] = ["ada0", "ada1", "da0", "da1", "da2", "da3"]
        h["pools"] = [
            {
                "name": "zroot",
                "size_gb": 220,
                "vdevs": [{"type": "mirror", "devices": ["ada0p4", "ada1p4"]}],
            },
            {
                "name": "tank",
                "size_gb": 7200,
                "used_pct": 45,
                "vdevs": [{"type": "raidz2", "devices": ["da0p2", "da1p2", "da2p2", "da3p2"]}],
            },
        ]
    else:
        h["roles"] = ["web"]
    return h


def extend(spec: dict, n: int) -> dict:
    """Append ``n`` generated hosts (with their clusters and backup jobs) and re-validate."""
    hosts = [_host(i // len(UNIT), UNIT[i % len(UNIT)]) for i in range(n)]
    names = {h["name"] for h in hosts}
    units = (n + len(UNIT) - 1) // len(UNIT)
    if not any(s["slug"] == "scale" for s in spec.get("sites", [])):
        spec.setdefault("sites", []).append({"slug": "scale", "name": "Generated"})
    for k in range(units):
        spec.setdefault("customers", []).append(
            {
                "slug": f"scale{k:04d}",
                "name": f"Generated Customer {k}",
                "sla_tier": "bronze",
                "contacts": [],
                "ip_ranges": [f"10.{100 + k // 256}.{k % 256}.0/24"],
            }
        )
    spec.setdefault("hosts", []).extend(hosts)
    for k in range(units):
        p = f"s{k:04d}"
        pairs = [
            ("fw", "firewall", {"syncdev": "igb2"}, "igb0"),
            ("lb", "loadbalancer", None, "em0"),
        ]
        for role, kind, pfsync, iface in pairs:
            a, b = f"{p}-{role}-a", f"{p}-{role}-b"
            if a in names and b in names:
                prefix = f"10.{100 + k // 256}.{k % 256}"
                cl = {
                    "name": f"{p}-{role}-pair",
                    "kind": kind,
                    "customer": f"scale{k:04d}",
                    "members": [{"host": a, "role": "primary"}, {"host": b, "role": "backup"}],
                    "carp": {
                        "advbase": 1,
                        "vhids": [
                            {
                                "vhid": v,
                                "interface": iface,
                                "vip": f"{prefix}.{(1 if role == 'fw' else 5) + v % 2}/24",
                            }
                            for v in ((1, 2) if role == "fw" else (3,))
                        ],
                    },
                }
                if pfsync:
                    cl["pfsync"] = pfsync
                spec.setdefault("clusters", []).append(cl)
        for src in ("web1", "web2", "web3", "db"):
            s, t = f"{p}-{src}", f"{p}-nas"
            if s in names and t in names:
                spec.setdefault("backup_jobs", []).append(
                    {
                        "name": f"{p}-{src}",
                        "source": s,
                        "target": t,
                        "dataset": f"tank/backups/{p}-{src}",
                    }
                )
    validate(spec)
    return spec
