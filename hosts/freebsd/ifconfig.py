"""ifconfig(8) output: interfaces, addresses, CARP (modern lines and old carpN) and pfsync."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Result, split_lines, to_int

# "em0: flags=8843<UP,BROADCAST,...> metric 0 mtu 1500"; the <...> list may be missing (the
# flag names are lost when output passes through HTML), the header may be indented.
_HEADER_RE = re.compile(
    r"^\s*(?P<name>[^\s:]+):\s+flags=(?P<hex>[0-9a-fA-F]+)(?:<(?P<flags>[^>]*)>)?"
    r"(?:.*?\bmetric\s+(?P<metric>\d+))?(?:.*?\bmtu\s+(?P<mtu>\d+))?"
)
_CARP_RE = re.compile(r"^carp:\s+(?P<state>\S+)(?P<rest>.*)$")
# ifconfig's IFFBITS table (sys/net/if.h names as ifconfig prints them); used only when the
# "<UP,...>" list is missing from a header, so the hex value is all that is left.
_IFF_BITS = (
    (0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"), (0x10, "POINTOPOINT"),
    (0x40, "RUNNING"), (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"),
    (0x400, "OACTIVE"), (0x800, "SIMPLEX"), (0x1000, "LINK0"), (0x2000, "LINK1"),
    (0x4000, "LINK2"), (0x8000, "MULTICAST"), (0x20000, "PPROMISC"), (0x40000, "MONITOR"),
    (0x80000, "STATICARP"), (0x100000, "STICKYARP"), (0x1000000, "LOWER_UP"),
)  # fmt: skip
_PFSYNC_KEYS = ("syncdev", "syncpeer", "maxupd", "defer", "version")


@dataclass(frozen=True)
class Address(Result):
    address: str
    prefixlen: int | None
    vhid: int | None
    broadcast: str | None = None
    scopeid: str | None = None


@dataclass(frozen=True)
class Carp(Result):
    vhid: int | None
    state: str
    advbase: int | None
    advskew: int | None
    peer: str | None = None
    peer6: str | None = None


@dataclass(frozen=True)
class Pfsync(Result):
    syncdev: str | None
    syncpeer: str | None
    maxupd: int | None
    defer: bool | None
    syncok: int | None
    version: int | None = None


@dataclass(frozen=True)
class Interface(Result):
    """One interface; `name` is None for filtered output that lost its header (grep carp)."""

    name: str | None
    flags: tuple[str, ...]
    mtu: int | None
    inet: tuple[Address, ...]
    inet6: tuple[Address, ...]
    carp: tuple[Carp, ...]
    pfsync: Pfsync | None
    metric: int | None = None
    ether: str | None = None
    status: str | None = None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class IfconfigResult(Result):
    interfaces: tuple[Interface, ...]
    parse_errors: tuple[str, ...] = ()


def _netmask_prefixlen(mask: str) -> int | None:
    """0xffffff00 (default) or 255.255.255.0 (-f inet:dotted) → 24; non-contiguous → None."""
    try:
        if mask.lower().startswith("0x"):
            value = int(mask, 16)
        else:
            parts = [int(p) for p in mask.split(".")]
            if len(parts) != 4 or any(p > 255 for p in parts):
                return None
            value = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]
    except ValueError:
        return None
    if value >= 1 << 32:
        return None
    bits = f"{value:032b}"
    return None if "01" in bits else bits.count("1")


def _keyvals(tokens: list[str]) -> dict[str, str]:
    """'netmask 0xff vhid 3' → {'netmask': '0xff', 'vhid': '3'} (word followed by its value)."""
    out: dict[str, str] = {}
    for i in range(0, len(tokens) - 1):
        out.setdefault(tokens[i], tokens[i + 1])
    return out


def _address(tokens: list[str], family: str) -> Address | None:
    if len(tokens) < 2:
        return None
    addr = tokens[1]
    kv = _keyvals(tokens[2:])
    prefixlen: int | None = None
    if "/" in addr:  # -f inet:cidr / inet6:cidr
        addr, _, plen = addr.partition("/")
        prefixlen = to_int(plen)
    elif family == "inet" and "netmask" in kv:
        prefixlen = _netmask_prefixlen(kv["netmask"])
    elif family == "inet6" and "prefixlen" in kv:
        prefixlen = to_int(kv["prefixlen"])
    return Address(
        address=addr,
        prefixlen=prefixlen,
        vhid=to_int(kv.get("vhid")),
        broadcast=kv.get("broadcast"),
        scopeid=kv.get("scopeid"),
    )


class _Builder:
    """Mutable accumulator for one interface while its lines are read."""

    def __init__(self, name: str | None, flags=(), mtu=None, metric=None) -> None:
        self.name, self.flags, self.mtu, self.metric = name, tuple(flags), mtu, metric
        self.inet: list[Address] = []
        self.inet6: list[Address] = []
        self.carp: list[dict] = []
        self.pfsync: dict | None = None
        self.ether: str | None = None
        self.status: str | None = None
        self.groups: tuple[str, ...] = ()

    def build(self) -> Interface:
        pfsync = None
        if self.pfsync is not None:
            p = self.pfsync
            defer = p.get("defer")
            pfsync = Pfsync(
                syncdev=p.get("syncdev"),
                syncpeer=p.get("syncpeer"),
                maxupd=to_int(p.get("maxupd")),
                defer={"on": True, "off": False}.get(defer) if defer else None,
                syncok=to_int(p.get("syncok")),
                version=to_int(p.get("version")),
            )
        return Interface(
            name=self.name,
            flags=self.flags,
            mtu=self.mtu,
            inet=tuple(self.inet),
            inet6=tuple(self.inet6),
            carp=tuple(Carp(**c) for c in self.carp),
            pfsync=pfsync,
            metric=self.metric,
            ether=self.ether,
            status=self.status,
            groups=self.groups,
        )


def _carp_line(rest: str, state: str) -> dict | None:
    kv = _keyvals(rest.split())
    vhid = to_int(kv.get("vhid"))
    if vhid is None:
        return None
    return {
        "vhid": vhid,
        "state": state,
        "advbase": to_int(kv.get("advbase")),
        "advskew": to_int(kv.get("advskew")),
    }


def _pfsync_line(line: str, builder: _Builder) -> bool:
    """syncdev/syncpeer/maxupd/defer/version pairs (old releases prefix 'pfsync: ')."""
    body = line[len("pfsync:") :].strip() if line.startswith("pfsync:") else line
    first = body.split(":", 1)[0]
    if first not in _PFSYNC_KEYS and first != "syncok":
        return False
    pairs = re.findall(r"(\w+):\s*(\S*)", body)
    if builder.pfsync is None:
        builder.pfsync = {}
    for key, value in pairs:
        if key in _PFSYNC_KEYS or key == "syncok":
            builder.pfsync[key] = value or None
    return True


def parse_ifconfig(text: str) -> IfconfigResult:
    """Parse `ifconfig`, `ifconfig -a` or `ifconfig IF` output.

    CARP comes from `carp: STATE vhid N advbase B advskew S` lines (plus the FreeBSD 14+ `peer
    A peer6 B` continuation); old `carpN` interfaces parse the same way. VIPs are the address
    lines ending in `vhid N`. pfsync fields come from `syncdev: ...` / `pfsync: syncdev: ...`
    and `syncok: N`. Lines before any interface header (grep-filtered output) go to an
    interface whose name is None.
    """
    errors: list[str] = []
    builders: list[_Builder] = []
    current: _Builder | None = None
    last_carp: dict | None = None
    for lineno, raw in enumerate(split_lines(text), 1):
        line = raw.strip()
        if not line:
            continue
        m = _HEADER_RE.match(raw)
        if m:
            if m.group("flags") is not None:
                flags = [f for f in m.group("flags").split(",") if f]
            else:
                value = int(m.group("hex")[:16], 16)
                flags = [name for bit, name in _IFF_BITS if value & bit]
            current = _Builder(
                m.group("name"), flags, to_int(m.group("mtu")), to_int(m.group("metric"))
            )
            builders.append(current)
            last_carp = None
            continue
        if current is None:
            errors.append(f"line {lineno}: no interface header before this line")
            current = _Builder(None)
            builders.append(current)
        tokens = line.split()
        word = tokens[0]
        if word in ("inet", "inet6"):
            addr = _address(tokens, word)
            if addr is None:
                errors.append(f"line {lineno}: unreadable {word} line")
            else:
                (current.inet if word == "inet" else current.inet6).append(addr)
        elif word == "carp:":
            cm = _CARP_RE.match(line)
            entry = _carp_line(cm.group("rest"), cm.group("state")) if cm else None
            if entry is None:
                errors.append(f"line {lineno}: unreadable carp line")
            else:
                current.carp.append(entry)
            last_carp = entry
            continue
        elif word in ("peer", "peer6") and last_carp is not None:
            kv = _keyvals(tokens)
            last_carp["peer"] = kv.get("peer")
            last_carp["peer6"] = kv.get("peer6")
        elif word == "ether" and len(tokens) > 1:
            current.ether = tokens[1]
        elif word == "status:":
            current.status = line.partition(":")[2].strip() or None
        elif word == "groups:":
            current.groups = tuple(tokens[1:])
        else:
            _pfsync_line(line, current)
        last_carp = None
    return IfconfigResult(tuple(b.build() for b in builders), tuple(errors))
