"""Placement preview: where a requested jail would go, computed from observed state only.

For a customer and a wish (size, IP or "next free", twin source, affinity) it lists the
candidate hosts (the customer's jail hosts, in the twin source's site when there is one) with
the jail pool's free space after the quota, the jails already there and whether it fits;
picks one; resolves the IP; and says how much of the tier's quota is left. The result is a
frozen value that is stored on the request as JSON and compared when the NOC looks again.

It reads, it never writes, and it never connects to a host: the preview is only as fresh as
the last poll, which is why the NOC sees it re-computed at approval time. Whether a pool
"fits" uses the one judge's pool-capacity warning threshold, not a threshold of its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field

from customers.choices import ACTIVE_STATUSES, Affinity
from customers.models import Customer, JailRequest
from customers.quotas import limit_for
from hosts.choices import HostRole, Reachability
from hosts.health.verdicts import configured_thresholds
from hosts.models import CarpVhid, Host, Jail, ZPool

GIB = 1024**3
JAIL_POOL = "zroot"  # the pool jails live on when a host has it; else its roomiest pool
# The first addresses of each customer range are kept for gateways, CARP addresses and host
# interfaces, which nyiops does not observe as jails.
RESERVED_PER_RANGE = 8


@dataclass(frozen=True)
class Candidate:
    host_id: int
    host: str
    site: str
    pool: str
    pool_size: int | None
    pool_free: int | None
    free_after: int | None  # bytes left in the pool once the quota is taken
    cap_after_pct: int | None
    jails: tuple[str, ...]
    reachable: bool
    fits: bool
    reason: str  # why it does not fit, in words; "" when it fits


@dataclass(frozen=True)
class Quota:
    tier: str
    jails_used: int
    jails_limit: int
    disk_used_gb: int
    disk_limit_gb: int
    max_jail_gb: int

    @property
    def jails_left(self) -> int:
        return max(self.jails_limit - self.jails_used, 0)

    @property
    def disk_left_gb(self) -> int:
        return max(self.disk_limit_gb - self.disk_used_gb, 0)


@dataclass(frozen=True)
class Preview:
    candidates: tuple[Candidate, ...]
    host_id: int | None
    host: str
    ip: str
    ip_source: str  # "requested" | "next free" | ""
    quota: Quota
    affinity_note: str
    problems: tuple[tuple[str, str], ...] = field(default=())  # (form field, message)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        data = asdict(self)
        data["problems"] = [list(p) for p in self.problems]
        return data

    def key(self) -> dict:
        """What the NOC must be told about if it changed since the customer saw it."""
        chosen = next((c for c in self.candidates if c.host_id == self.host_id), None)
        return {
            "host": self.host,
            "ip": self.ip,
            "fits": bool(chosen and chosen.fits),
            "free_after_gb": (chosen.free_after // GIB) if chosen and chosen.free_after else None,
            "jails_left": self.quota.jails_left,
            "disk_left_gb": self.quota.disk_left_gb,
        }


def changes(stored: dict, now: Preview) -> list[str]:
    """What differs between a stored preview (JSON) and one computed now, in words."""
    before = stored.get("key") or {}
    after = now.key()
    labels = {
        "host": "host",
        "ip": "IP address",
        "fits": "fits on the host",
        "free_after_gb": "free space after the quota (GiB)",
        "jails_left": "jails left in the tier",
        "disk_left_gb": "disk left in the tier (GiB)",
    }
    out = []
    for name, label in labels.items():
        if name in before and before[name] != after[name]:
            out.append(f"{label}: {before[name]} → {after[name]}")
    return out


def stored_form(preview: Preview) -> dict:
    return {**preview.as_json(), "key": preview.key()}


# --- quota -----------------------------------------------------------------------------------


def quota_for(customer: Customer, *, exclude_request: int | None = None) -> Quota:
    """Jails count once: observed jails on the customer's hosts that no active request
    accounts for, plus active requests. Disk is what active requests asked for (observed
    jails carry no quota nyiops set)."""
    limit = limit_for(customer.sla_tier)
    active = JailRequest.objects.filter(customer=customer, status__in=ACTIVE_STATUSES)
    if exclude_request:
        active = active.exclude(pk=exclude_request)
    requested = list(active.values_list("name", "size_gb"))
    requested_names = {name for name, _ in requested}
    observed = set(
        Jail.objects.present()
        .filter(host__customer=customer)
        .values_list("name", flat=True)
        .distinct()
    )
    return Quota(
        tier=customer.get_sla_tier_display(),
        jails_used=len(observed - requested_names) + len(requested),
        jails_limit=limit.jails,
        disk_used_gb=sum(size for _, size in requested),
        disk_limit_gb=limit.disk_gb,
        max_jail_gb=limit.max_jail_gb,
    )


# --- IP addresses ----------------------------------------------------------------------------


def customer_networks(customer: Customer) -> list[ipaddress.IPv4Network]:
    nets = []
    for text in customer.ip_ranges or []:
        try:
            net = ipaddress.ip_network(str(text), strict=False)
        except ValueError:
            continue
        if net.version == 4:
            nets.append(net)
    return nets


def _address(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.ip_interface(str(text).strip()).ip
    except ValueError:
        return None


@dataclass
class AddressBook:
    """Every address nyiops knows is taken: jails' addresses, CARP addresses and host
    management addresses (observed), and the addresses active requests hold. Loaded once
    and asked per request, so a queue of N requests scans the fleet once, not N times."""

    observed: set
    held: dict  # address -> request ids holding it

    @classmethod
    def load(cls) -> AddressBook:
        observed = set()
        for addrs in Jail.objects.present().values_list("ipv4", flat=True):
            observed.update(a for a in map(_address, addrs or []) if a)
        for vips in CarpVhid.objects.present().values_list("vips", flat=True):
            observed.update(a for a in map(_address, vips or []) if a)
        observed.update(
            a for a in map(_address, Host.objects.values_list("address", flat=True)) if a
        )
        held: dict = {}
        for pk, ip in JailRequest.objects.filter(status__in=ACTIVE_STATUSES).values_list(
            "pk", "ip"
        ):
            addr = _address(ip)
            if addr:
                held.setdefault(addr, set()).add(pk)
        return cls(observed, held)

    def used(self, *, exclude_request: int | None = None) -> set:
        return self.observed | {a for a, pks in self.held.items() if pks - {exclude_request}}


def used_addresses(*, exclude_request: int | None = None) -> set[ipaddress.IPv4Address]:
    return AddressBook.load().used(exclude_request=exclude_request)


def reserved(net: ipaddress.IPv4Network, addr: ipaddress.IPv4Address) -> bool:
    if net.prefixlen >= 31:
        return False
    offset = int(addr) - int(net.network_address)
    return offset <= RESERVED_PER_RANGE or addr == net.broadcast_address


def next_free_ip(customer: Customer, used: set) -> str:
    for net in customer_networks(customer):
        for addr in net.hosts():
            if addr not in used and not reserved(net, addr):
                return str(addr)
    return ""


def check_ip(customer: Customer, text: str, used: set) -> str:
    """The problem with a requested address, or ""."""
    addr = _address(text)
    if addr is None or addr.version != 4:
        return f"“{text}” is not an IPv4 address."
    nets = [n for n in customer_networks(customer) if addr in n]
    if not nets:
        ranges = ", ".join(customer.ip_ranges or []) or "none allocated"
        return f"{addr} is outside your address ranges ({ranges})."
    if reserved(nets[0], addr):
        return f"{addr} is reserved in {nets[0]} (network, gateway and host addresses)."
    if addr in used:
        return f"{addr} is already in use."
    return ""


# --- hosts -----------------------------------------------------------------------------------


def jail_hosts(customer: Customer, site_id: int | None = None):
    hosts = Host.objects.filter(customer=customer, enabled=True).with_role(HostRole.JAILHOST)
    if site_id is not None:
        hosts = hosts.filter(site_id=site_id)
    return hosts.select_related("site").order_by("name")


def candidates(customer: Customer, size_gb: int, *, site_id: int | None = None) -> list[Candidate]:
    """Two queries for the pools and jails of all candidate hosts at once."""
    hosts = list(jail_hosts(customer, site_id))
    ids = [h.pk for h in hosts]
    pools: dict[int, list[ZPool]] = {}
    for pool in ZPool.objects.present().filter(host_id__in=ids).order_by("name"):
        pools.setdefault(pool.host_id, []).append(pool)
    jails: dict[int, list[str]] = {}
    for host_id, name in (
        Jail.objects.present()
        .filter(host_id__in=ids)
        .order_by("name")
        .values_list("host_id", "name")
    ):
        jails.setdefault(host_id, []).append(name)
    limit_pct = configured_thresholds().pool_capacity_warning
    out = []
    for host in hosts:
        host_pools = pools.get(host.pk, [])
        pool = next((p for p in host_pools if p.name == JAIL_POOL), None) or max(
            host_pools, key=lambda p: p.free or 0, default=None
        )
        reachable = host.reachability == Reachability.OK
        size, free = (pool.size, pool.free) if pool else (None, None)
        free_after = cap_after = None
        reason = ""
        if pool is None or size is None or free is None:
            reason = "no pool observed yet"
        else:
            free_after = free - size_gb * GIB
            cap_after = round(100 * (size - free_after) / size) if size else 100
            if free_after < 0:
                reason = f"pool {pool.name} has {free // GIB} GiB free, {size_gb} GiB asked"
            elif cap_after >= limit_pct:
                reason = f"pool {pool.name} would be {cap_after}% full (limit {limit_pct}%)"
        if not reason and not reachable:
            reason = f"host not reachable ({host.get_reachability_display().lower()})"
        out.append(
            Candidate(
                host_id=host.pk,
                host=host.name,
                site=host.site.name if host.site else "",
                pool=pool.name if pool else "",
                pool_size=size,
                pool_free=free,
                free_after=free_after,
                cap_after_pct=cap_after,
                jails=tuple(jails.get(host.pk, ())),
                reachable=reachable,
                fits=not reason,
                reason=reason,
            )
        )
    return out


def choose(cands: list[Candidate], affinity: str, source_host_id: int | None) -> Candidate | None:
    fitting = [c for c in cands if c.fits]
    if source_host_id is not None and affinity == Affinity.SAME_HOST:
        fitting = [c for c in fitting if c.host_id == source_host_id]
    elif source_host_id is not None and affinity == Affinity.OTHER_HOST:
        fitting = [c for c in fitting if c.host_id != source_host_id]
    return max(fitting, key=lambda c: (c.free_after or 0, -c.host_id), default=None)


def compute(
    customer: Customer,
    *,
    size_gb: int,
    ip: str = "",
    twin_of: Jail | None = None,
    affinity: str = Affinity.ANY,
    host_id: int | None = None,
    exclude_request: int | None = None,
    addresses: AddressBook | None = None,
) -> Preview:
    """The preview for one wish. `host_id` pins the host (a NOC override or a re-check of a
    stored choice); otherwise the roomiest fitting host is picked. Problems are returned
    with the form field they belong to, never raised."""
    problems: list[tuple[str, str]] = []
    source_host = twin_of.host if twin_of is not None else None
    cands = candidates(customer, size_gb, site_id=source_host.site_id if source_host else None)
    if source_host is not None:
        # A twin is a ZFS clone of its source's snapshot: only the source's pool can hold it.
        cands = [c for c in cands if c.host_id == source_host.pk]
    if host_id is not None:
        chosen = next((c for c in cands if c.host_id == host_id), None)
        if chosen is None and source_host is not None:
            problems.append(("host", f"A twin stays on its source's host, {source_host.name}."))
        elif chosen is None:
            problems.append(("host", "That host is not one of this customer's jail hosts."))
        elif not chosen.fits:
            problems.append(("host", f"{chosen.host}: {chosen.reason}."))
    elif source_host is not None:
        chosen = cands[0] if cands else None
        if affinity == Affinity.OTHER_HOST:
            problems.append(
                (
                    "affinity",
                    "A twin is cloned from a snapshot of its source, so it runs on the "
                    f"source's host ({source_host.name}). For another host, ask for a "
                    "staging jail from a release template.",
                )
            )
        elif chosen is not None and not chosen.fits:
            problems.append(("size_gb", f"{chosen.host}: {chosen.reason}."))
            chosen = None
    else:
        chosen = choose(cands, affinity, None)
        if chosen is None:
            if not cands:
                problems.append(("__all__", "You have no jail host to place a jail on."))
            else:
                problems.append(("size_gb", "No jail host has room for this jail: see below."))
    note = ""
    if source_host is not None:
        where = {Affinity.SAME_HOST: "same host", Affinity.OTHER_HOST: "another host"}
        note = f"{twin_of.name} runs on {source_host.name}; wish: {where.get(affinity, 'any host')}"
        if chosen is not None:
            same = chosen.host_id == source_host.pk
            note += f"; placed on {'the same host' if same else 'another host'}."

    book = addresses if addresses is not None else AddressBook.load()
    used = book.used(exclude_request=exclude_request)
    if ip:
        problem = check_ip(customer, ip, used)
        if problem:
            problems.append(("ip", problem))
        ip_source = "requested"
    else:
        ip = next_free_ip(customer, used)
        ip_source = "next free"
        if not ip:
            problems.append(("ip", "No free address is left in your ranges."))

    quota = quota_for(customer, exclude_request=exclude_request)
    if quota.jails_left < 1:
        problems.append(
            ("__all__", f"Your {quota.tier} tier allows {quota.jails_limit} jails; all are used.")
        )
    if size_gb > quota.max_jail_gb:
        problems.append(
            ("size_gb", f"Your {quota.tier} tier allows at most {quota.max_jail_gb} GiB a jail.")
        )
    elif size_gb > quota.disk_left_gb:
        problems.append(
            ("size_gb", f"Only {quota.disk_left_gb} GiB of your tier's disk quota is left.")
        )
    return Preview(
        candidates=tuple(cands),
        host_id=chosen.host_id if chosen else None,
        host=chosen.host if chosen else "",
        ip=ip,
        ip_source=ip_source,
        quota=quota,
        affinity_note=note,
        problems=tuple(problems),
    )
