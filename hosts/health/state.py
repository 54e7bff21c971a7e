"""What the health rules read and return: plain frozen views of observed state
(no Django, no I/O) and the rules' Finding result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


def host_finding(
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
