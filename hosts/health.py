"""Health rules: pure functions from observed state to findings. No Django, no I/O, no clock
(`now` is passed in), so every rule is tested on plain values.

Each finding has a dedup key that names exactly one problem; the alerts app opens one alert
per key and resolves it when the key is no longer found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CRITICAL, WARNING, INFO = "critical", "warning", "info"


@dataclass(frozen=True)
class Thresholds:
    pool_capacity_warning: int = 80
    pool_capacity_critical: int = 90
    scrub_max_age_days: int = 35
    state_divergence_share: float = 0.10  # of the larger table
    state_divergence_min: int = 100  # tables smaller than this never diverge meaningfully
    backend_min_up_share: float = 0.5
    backup_stale_factor: float = 1.5
    poll_stale_intervals: int = 3


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    scope: str
    dedup_key: str
    subject: str
    message: str
    host_id: int | None = None
    cluster_id: int | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VhidView:
    interface: str
    vhid: int
    state: str
    advbase: int | None
    advskew: int | None
    vips: tuple[str, ...]
    master_since: datetime | None = None  # when this host last became MASTER for it


@dataclass(frozen=True)
class DeviceView:
    name: str
    state: str
    read: int
    write: int
    cksum: int
    section: str = "data"
    depth: int = 0


@dataclass(frozen=True)
class PoolView:
    name: str
    health: str
    cap_pct: int | None
    scan_kind: str
    scan_state: str
    scan_pct: float | None
    scan_finished_at: datetime | None
    devices: tuple[DeviceView, ...] = ()


@dataclass(frozen=True)
class MirrorView:
    name: str
    state: str
    components: tuple[tuple[str, str, int | None], ...]  # (name, state, synchronized %)


@dataclass(frozen=True)
class BackendView:
    name: str
    status: str
    servers: tuple[tuple[str, str], ...]  # (name, status)


@dataclass(frozen=True)
class HostView:
    id: int
    name: str
    reachability: str
    reason: str = ""
    roles: tuple[str, ...] = ()
    last_success_at: datetime | None = None
    offered_key: str = ""  # "ssh-ed25519 SHA256:..." when a key waits for approval
    pinned_key: str = ""
    carp_preempt: int | None = None
    carp_demotion: int | None = None
    pfsync_present: bool | None = None
    pfsync_syncok: int | None = None
    pf_states: int | None = None
    pf_ruleset_hash: str = ""
    vhids: tuple[VhidView, ...] = ()
    mirrors: tuple[MirrorView, ...] = ()
    pools: tuple[PoolView, ...] = ()
    stopped_jails: tuple[str, ...] = ()
    backends: tuple[BackendView, ...] = ()
    subsystem_errors: dict = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return self.reachability == "ok"


@dataclass(frozen=True)
class ClusterView:
    id: int
    name: str
    kind: str
    members: tuple[tuple[HostView, str], ...]  # (host, intended role: primary | backup)


@dataclass(frozen=True)
class BackupView:
    id: int
    name: str
    source_id: int
    source: str
    target_id: int
    schedule_minutes: int
    created_hint: datetime | None  # when the job was first known (stale checks start then)
    last_exit_code: int | None
    last_finished_at: datetime | None
    last_error: str
    last_snapshot_verified: bool | None
    last_success_at: datetime | None


def _host_finding(
    h: HostView, kind: str, severity: str, subject: str, message: str, key: str = "", **details
) -> Finding:
    return Finding(
        kind=kind,
        severity=severity,
        scope=f"host:{h.id}",
        dedup_key=f"{kind}:host:{h.name}" + (f":{key}" if key else ""),
        subject=subject,
        message=message,
        host_id=h.id,
        details=details,
    )


def evaluate_host(h: HostView, now: datetime, t: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    """Findings about one host alone. An unreachable host keeps its last good data, and the
    rules below still judge it: the alerts app groups them under host_unreachable."""
    out: list[Finding] = []
    if h.reachability == "host_key_unknown":
        out.append(
            _host_finding(
                h,
                "host_key_unknown",
                WARNING,
                h.name,
                f"{h.name}: host key not approved yet ({h.offered_key}); "
                "approve it on the host page to start polling",
            )
        )
    elif h.reachability == "host_key_changed":
        out.append(
            _host_finding(
                h,
                "host_key_changed",
                CRITICAL,
                h.name,
                f"{h.name}: host key changed (pinned {h.pinned_key}, offered "
                f"{h.offered_key}); no command is sent until a NOC engineer "
                "re-approves it",
                offered=h.offered_key,
                pinned=h.pinned_key,
            )
        )
    elif h.reachability == "unknown":
        age = _age(now, h.last_success_at)
        out.append(
            _host_finding(
                h,
                "host_unreachable",
                CRITICAL,
                h.name,
                f"{h.name} unreachable: {h.reason or 'no reason given'} (last good data {age})",
            )
        )
    for subsystem, reason in sorted(h.subsystem_errors.items()):
        out.append(
            _host_finding(
                h,
                "parse_error",
                WARNING,
                f"{h.name} {subsystem}",
                f"{h.name}: {subsystem} state unknown: {reason}",
                key=subsystem,
            )
        )
    if h.carp_demotion:
        out.append(
            _host_finding(
                h,
                "carp_demoted",
                WARNING,
                h.name,
                f"{h.name}: CARP demotion is {h.carp_demotion} (every vhid's "
                "advskew is raised; the peer takes MASTER)",
                demotion=h.carp_demotion,
            )
        )
    out += _mirror_findings(h)
    out += _pool_findings(h, now, t)
    if h.stopped_jails:
        names = ", ".join(h.stopped_jails)
        out.append(
            _host_finding(
                h,
                "jail_not_running",
                WARNING,
                f"{h.name} jails",
                f"{h.name}: jail(s) not running: {names}",
                jails=list(h.stopped_jails),
            )
        )
    out += _backend_findings(h, t)
    return out


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _mirror_findings(h: HostView) -> list[Finding]:
    out = []
    for m in h.mirrors:
        if m.state == "COMPLETE":
            continue
        syncing = [
            (n, pct) for n, s, pct in m.components if s == "SYNCHRONIZING" or pct is not None
        ]
        bad = [n for n, s, _ in m.components if s not in ("ACTIVE", "SYNCHRONIZING")]
        if m.state == "DEGRADED" and syncing:
            progress = ", ".join(f"{n} {pct}%" if pct is not None else n for n, pct in syncing)
            severity, text = WARNING, f"rebuilding ({progress})"
        else:
            severity, text = CRITICAL, f"{m.state} with {len(m.components)} component(s)"
        out.append(
            _host_finding(
                h,
                "mirror_degraded",
                severity,
                f"{h.name} mirror/{m.name}",
                f"{h.name}: mirror/{m.name} {text}",
                key=m.name,
                state=m.state,
                components=[c[0] for c in m.components],
                failed=bad,
                syncing=[n for n, _ in syncing],
            )
        )
    return out


_DEVICE_OK = {"ONLINE", "AVAIL", "INUSE"}


def _pool_findings(h: HostView, now: datetime, t: Thresholds) -> list[Finding]:
    out = []
    for p in h.pools:
        subject = f"{h.name} {p.name}"
        if p.health in ("FAULTED", "UNAVAIL", "SUSPENDED", "OFFLINE", "REMOVED"):
            out.append(
                _host_finding(
                    h,
                    "pool_faulted",
                    CRITICAL,
                    subject,
                    f"{h.name}: pool {p.name} is {p.health}",
                    key=p.name,
                )
            )
        elif p.health == "DEGRADED":
            resilver = ""
            if p.scan_kind == "resilver" and p.scan_state == "in_progress":
                resilver = f"; resilvering {p.scan_pct or 0:.1f}%"
            out.append(
                _host_finding(
                    h,
                    "pool_degraded",
                    WARNING,
                    subject,
                    f"{h.name}: pool {p.name} is DEGRADED{resilver}",
                    key=p.name,
                )
            )
        bad = [
            d
            for d in p.devices
            if d.depth > 0 and (d.state not in _DEVICE_OK or d.read or d.write or d.cksum)
        ]
        if bad:
            listing = ", ".join(
                f"{d.name} {d.state} r/w/ck {d.read}/{d.write}/{d.cksum}" for d in bad
            )
            severity = (
                CRITICAL
                if any(d.state in ("FAULTED", "UNAVAIL", "REMOVED") for d in bad)
                else WARNING
            )
            out.append(
                _host_finding(
                    h,
                    "device_errors",
                    severity,
                    subject,
                    f"{h.name}: pool {p.name} ({p.health}) device problems: {listing}",
                    key=p.name,
                    devices=[d.name for d in bad],
                )
            )
        if p.cap_pct is not None and p.cap_pct >= t.pool_capacity_warning:
            severity = CRITICAL if p.cap_pct >= t.pool_capacity_critical else WARNING
            out.append(
                _host_finding(
                    h,
                    "pool_capacity",
                    severity,
                    subject,
                    f"{h.name}: pool {p.name} is {p.cap_pct}% full",
                    key=p.name,
                    cap_pct=p.cap_pct,
                )
            )
        scrubbing = p.scan_state == "in_progress"
        too_old = p.scan_finished_at is None or (
            now - p.scan_finished_at > timedelta(days=t.scrub_max_age_days)
        )
        if p.health == "ONLINE" and not scrubbing and p.scan_kind != "resilver" and too_old:
            when = "never" if p.scan_finished_at is None else f"{p.scan_finished_at:%Y-%m-%d}"
            out.append(
                _host_finding(
                    h,
                    "scrub_overdue",
                    INFO,
                    subject,
                    f"{h.name}: pool {p.name} last scrubbed {when}",
                    key=p.name,
                )
            )
    return out


_INTENTIONAL = ("MAINT", "DRAIN")


def _backend_findings(h: HostView, t: Thresholds) -> list[Finding]:
    out = []
    for b in h.backends:
        if not b.servers:
            continue
        up = [n for n, s in b.servers if s.startswith("UP") or s == "no check"]
        down = [n for n, s in b.servers if s.startswith("DOWN") or s == "NOLB"]
        subject = f"{h.name} {b.name}"
        if down:
            out.append(
                _host_finding(
                    h,
                    "member_down",
                    WARNING,
                    subject,
                    f"{h.name}: backend {b.name}: {', '.join(down)} DOWN",
                    key=b.name,
                    servers=down,
                )
            )
        needed = max(1, math.ceil(len(b.servers) * t.backend_min_up_share))
        if len(up) < needed:
            severity = CRITICAL if not up else WARNING
            out.append(
                _host_finding(
                    h,
                    "backend_capacity",
                    severity,
                    subject,
                    f"{h.name}: backend {b.name} has {len(up)}/{len(b.servers)} "
                    f"servers UP (needs {needed})",
                    key=b.name,
                    up=len(up),
                    total=len(b.servers),
                )
            )
    return out
