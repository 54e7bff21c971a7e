"""What the health rules read and return. `*State`: plain frozen snapshots of observed state
(health.store loads them from the database); `Problem`: what a rule found, which health.store
stores as a `hosts.models.Finding` row (one name each: a Problem is never a row).
Must not: import Django or models, or hold any judgement (that is verdicts.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Problem:
    """One problem one rule found. `dedup_key` names exactly that problem: the alerts app
    opens one alert per key and resolves it when the key is no longer found."""

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
class VhidState:
    interface: str
    vhid: int
    state: str
    advbase: int | None
    advskew: int | None
    vips: tuple[str, ...]
    master_since: datetime | None = None  # when this host last became MASTER for it


@dataclass(frozen=True)
class DeviceState:
    name: str
    state: str
    read: int
    write: int
    cksum: int
    section: str = "data"
    depth: int = 0


@dataclass(frozen=True)
class PoolState:
    name: str
    health: str
    cap_pct: int | None
    scan_kind: str
    scan_state: str
    scan_pct: float | None
    scan_finished_at: datetime | None
    devices: tuple[DeviceState, ...] = ()


@dataclass(frozen=True)
class MirrorState:
    name: str
    state: str
    components: tuple[tuple[str, str, int | None], ...]  # (name, state, synchronized %)


@dataclass(frozen=True)
class BackendState:
    name: str
    status: str
    servers: tuple[tuple[str, str], ...]  # (name, status)


@dataclass(frozen=True)
class HostState:
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
    vhids: tuple[VhidState, ...] = ()
    mirrors: tuple[MirrorState, ...] = ()
    pools: tuple[PoolState, ...] = ()
    stopped_jails: tuple[str, ...] = ()
    backends: tuple[BackendState, ...] = ()
    subsystem_errors: dict = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return self.reachability == "ok"


@dataclass(frozen=True)
class ClusterState:
    id: int
    name: str
    kind: str
    members: tuple[tuple[HostState, str], ...]  # (host, intended role: primary | backup)


@dataclass(frozen=True)
class BackupState:
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


def host_problem(
    h: HostState, kind: str, severity: str, subject: str, message: str, key: str = "", **details
) -> Problem:
    return Problem(
        kind=kind,
        severity=severity,
        scope=f"host:{h.id}",
        dedup_key=f"{kind}:host:{h.name}" + (f":{key}" if key else ""),
        subject=subject,
        message=message,
        host_id=h.id,
        details=details,
    )
