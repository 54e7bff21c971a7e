"""Load and validate a fleet spec (YAML or dict).

The spec is richer than the exported inventory: it describes interfaces, CARP vhids, pools,
jails and HAProxy pools. Validation errors name the entry and the field, e.g.
``hosts[3] (fw1b): field 'interfaces': 'igb0' is not an address/prefix``.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from pathlib import Path
from typing import Any

import yaml

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
SLUG_RE = re.compile(r"^[a-z0-9-]+$")
ROLES = {"firewall", "loadbalancer", "jailhost", "storage", "dns", "web"}
CLUSTER_KINDS = {"firewall", "loadbalancer", "jail-service", "vpn"}
SLA_TIERS = {"bronze", "silver", "gold", "platinum"}
DEFAULT_VERSION = "14.1-RELEASE-p5"


class SpecError(ValueError):
    """A malformed spec; the message names the entry and the field."""


def _where(section: str, i: int, entry: Any) -> str:
    name = (entry.get("slug") or entry.get("name")) if isinstance(entry, dict) else None
    return f"{section}[{i}]" + (f" ({name})" if name else "")


def _need(entry: dict, field: str, where: str, kind: type | tuple = str) -> Any:
    if field not in entry:
        raise SpecError(f"{where}: field '{field}' is required")
    value = entry[field]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SpecError(f"{where}: field '{field}' has the wrong type ({type(value).__name__})")
    return value


def _iface(value: Any, where: str, field: str) -> tuple[str, int]:
    try:
        net = ipaddress.ip_interface(str(value))
    except ValueError:
        raise SpecError(f"{where}: field '{field}': {value!r} is not an address/prefix") from None
    return str(net.ip), net.network.prefixlen


def load_spec(source: str | Path | dict) -> dict:
    """Return a validated, normalised copy of the spec (a path to YAML, or a dict)."""
    if isinstance(source, dict):
        spec = copy.deepcopy(source)
    else:
        try:
            spec = yaml.safe_load(Path(source).read_text())
        except yaml.YAMLError as exc:
            raise SpecError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise SpecError("spec: the top level must be a mapping")
    validate(spec)
    return spec


def validate(spec: dict) -> None:
    spec.setdefault("defaults", {})
    for section in ("customers", "sites", "hosts", "clusters", "backup_jobs"):
        spec.setdefault(section, [])
        if not isinstance(spec[section], list):
            raise SpecError(f"{section}: must be a list")
    customers = set()
    for i, c in enumerate(spec["customers"]):
        w = _where("customers", i, c)
        if not isinstance(c, dict):
            raise SpecError(f"{w}: must be a mapping")
        slug = _need(c, "slug", w)
        if not SLUG_RE.match(slug):
            raise SpecError(f"{w}: field 'slug': {slug!r} must match [a-z0-9-]+")
        _need(c, "name", w)
        if c.setdefault("sla_tier", "silver") not in SLA_TIERS:
            raise SpecError(f"{w}: field 'sla_tier': {c['sla_tier']!r} not in {sorted(SLA_TIERS)}")
        c.setdefault("contacts", [])
        for r in c.setdefault("ip_ranges", []):
            try:
                ipaddress.ip_network(r)
            except ValueError:
                raise SpecError(f"{w}: field 'ip_ranges': {r!r} is not a network") from None
        customers.add(slug)
    sites = set()
    for i, s in enumerate(spec["sites"]):
        w = _where("sites", i, s)
        sites.add(_need(s, "slug", w))
        _need(s, "name", w)
    names: dict[str, dict] = {}
    for i, h in enumerate(spec["hosts"]):
        _validate_host(spec, i, h, customers, sites, names)
    for i, cl in enumerate(spec["clusters"]):
        _validate_cluster(i, cl, names, customers)
    for i, job in enumerate(spec["backup_jobs"]):
        w = _where("backup_jobs", i, job)
        _need(job, "name", w)
        for field in ("source", "target"):
            if _need(job, field, w) not in names:
                raise SpecError(f"{w}: field '{field}': unknown host {job[field]!r}")
        if "storage" not in names[job["target"]]["roles"]:
            raise SpecError(f"{w}: field 'target': {job['target']!r} has no storage role")
        _need(job, "dataset", w)
        if not isinstance(job.setdefault("schedule_minutes", 1440), int):
            raise SpecError(f"{w}: field 'schedule_minutes' must be an integer")
        job.setdefault("log_path", f"/var/log/nyiops-backup/{job['name']}.log")
        duration = job.setdefault("duration_seconds", 120)
        if not isinstance(duration, (int, float)) or isinstance(duration, bool) or duration < 0:
            raise SpecError(f"{w}: field 'duration_seconds' must be a number >= 0")


def _validate_host(spec, i, h, customers, sites, names) -> None:
    w = _where("hosts", i, h)
    if not isinstance(h, dict):
        raise SpecError(f"{w}: must be a mapping")
    name = _need(h, "name", w)
    if not NAME_RE.match(name):
        raise SpecError(f"{w}: field 'name': {name!r} must match [a-z0-9][a-z0-9.-]*")
    if name in names:
        raise SpecError(f"{w}: field 'name': duplicate host {name!r}")
    roles = _need(h, "roles", w, list)
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise SpecError(f"{w}: field 'roles': unknown role {bad[0]!r}")
    if h.get("customer") is not None and h["customer"] not in customers:
        raise SpecError(f"{w}: field 'customer': unknown customer {h['customer']!r}")
    if h.get("site") is not None and h["site"] not in sites:
        raise SpecError(f"{w}: field 'site': unknown site {h['site']!r}")
    d = spec["defaults"]
    h.setdefault("version", d.get("version", DEFAULT_VERSION))
    h.setdefault("poll_interval", d.get("poll_interval", 10))
    ifaces = h.setdefault("interfaces", {})
    if not isinstance(ifaces, dict) or not ifaces:
        raise SpecError(f"{w}: field 'interfaces' must map interface names to addresses")
    for ifname, addrs in ifaces.items():
        for a in addrs if isinstance(addrs, list) else [addrs]:
            _iface(a, w, f"interfaces.{ifname}")
    disks = h.setdefault("disks", ["ada0", "ada1"])
    h.setdefault("mirrors", [{"name": "swap", "components": [f"{x}p2" for x in disks[:2]]}])
    for m in h["mirrors"]:
        if not isinstance(m, dict) or "name" not in m or not m.get("components"):
            raise SpecError(f"{w}: field 'mirrors': each needs name and components")
    default_pool = {
        "name": "zroot",
        "size_gb": 440,
        "used_pct": 30,
        "vdevs": [{"type": "mirror", "devices": [f"{x}p4" for x in disks[:2]]}],
    }
    h.setdefault("pools", [default_pool])
    for p in h["pools"]:
        if not isinstance(p, dict) or "name" not in p or not p.get("vdevs"):
            raise SpecError(f"{w}: field 'pools': each needs name and vdevs")
        for v in p["vdevs"]:
            if not v.get("devices"):
                raise SpecError(f"{w}: field 'pools': vdev of {p['name']} has no devices")
    pools = {p["name"] for p in h["pools"]}
    for k, d in enumerate(h.setdefault("datasets", [])):
        entry = {"name": d} if isinstance(d, str) else d
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SpecError(f"{w}: field 'datasets[{k}]': needs a name")
        if entry["name"].split("/")[0] not in pools or "/" not in entry["name"]:
            raise SpecError(
                f"{w}: field 'datasets[{k}]': {entry['name']!r} is not below one of its pools"
            )
        snaps = entry.get("snapshots", [])
        if not isinstance(snaps, list) or not all(isinstance(s, str) for s in snaps):
            raise SpecError(f"{w}: field 'datasets[{k}].snapshots': must be a list of names")
        h["datasets"][k] = entry
    for j in h.setdefault("jails", []):
        if not isinstance(j, dict) or "name" not in j:
            raise SpecError(f"{w}: field 'jails': each jail needs a name")
        if "ip4" in j:
            _iface(j["ip4"], w, f"jails.{j['name']}.ip4")
    hap = h.get("haproxy")
    if hap is not None:
        for b in _need(hap, "backends", f"{w}: field 'haproxy'", list):
            for s in b.get("servers", []):
                if "name" not in s or "addr" not in s:
                    raise SpecError(
                        f"{w}: field 'haproxy': server in {b.get('name')} needs name and addr"
                    )
    names[name] = h


def _validate_cluster(i, cl, names, customers) -> None:
    w = _where("clusters", i, cl)
    _need(cl, "name", w)
    if _need(cl, "kind", w) not in CLUSTER_KINDS:
        raise SpecError(f"{w}: field 'kind': {cl['kind']!r} not in {sorted(CLUSTER_KINDS)}")
    if cl.get("customer") is not None and cl["customer"] not in customers:
        raise SpecError(f"{w}: field 'customer': unknown customer {cl['customer']!r}")
    members = _need(cl, "members", w, list)
    for m in members:
        if not isinstance(m, dict) or m.get("host") not in names:
            raise SpecError(f"{w}: field 'members': unknown host {m!r}")
        m.setdefault("role", "primary")
        m.setdefault("advskew", 0 if m["role"] == "primary" else 100)
    carp = cl.get("carp")
    if carp:
        for v in _need(carp, "vhids", f"{w}: field 'carp'", list):
            if not isinstance(v.get("vhid"), int) or not 1 <= v["vhid"] <= 255:
                raise SpecError(f"{w}: field 'carp.vhids': vhid must be 1..255, got {v!r}")
            _iface(v.get("vip"), w, f"carp.vhids[{v['vhid']}].vip")
            for m in members:
                if v.get("interface") not in names[m["host"]]["interfaces"]:
                    raise SpecError(
                        f"{w}: field 'carp.vhids': host {m['host']} has no "
                        f"interface {v.get('interface')!r}"
                    )
    pfsync = cl.get("pfsync")
    if pfsync:
        for m in members:
            if pfsync.get("syncdev") not in names[m["host"]]["interfaces"]:
                raise SpecError(
                    f"{w}: field 'pfsync.syncdev': host {m['host']} has no "
                    f"interface {pfsync.get('syncdev')!r}"
                )
