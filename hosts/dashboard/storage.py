"""The storage widget of the NOC overview: gmirror mirrors and ZFS pools that need
attention (read side, fixed query count)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from hosts.dashboard.common import LIST_LIMIT, Filters, digest, host_filter
from hosts.health.verdicts import (
    DEVICE_OK,
    capacity_severity,
    configured_thresholds,
    devices_severity,
    mirror_severity,
    pool_health_severity,
    tone_of,
    worst,
)
from hosts.models import Host, Mirror, StatusEvent, ZPool, ZPoolDevice


@dataclass(frozen=True)
class StorageRow:
    kind: str  # mirror | pool
    id: int
    host_id: int
    host_name: str
    name: str
    state: str
    tone: str
    progress_pct: float | None
    eta: str
    detail: str


def storage(f: Filters, known: str | None = None) -> dict:
    """Mirrors not COMPLETE and pools not ONLINE (or ONLINE with device problems, filling
    up, or resilvering), with rebuild/resilver progress and ETA, each in the tone of the
    findings the health rules raise for it. Five queries."""
    now = timezone.now()
    t = configured_thresholds()
    hosts = Host.objects.filter(host_filter(f)).values("pk")
    mirrors = list(
        Mirror.objects.present()
        .filter(host__in=hosts)
        .exclude(state="COMPLETE")
        .select_related("host")
        .prefetch_related("components")
        .order_by("host__name", "name")[:LIST_LIMIT]
    )
    # When each degraded mirror went degraded: the rebuild's start, for its ETA.
    since = {}
    for host_id, subject, at in (
        StatusEvent.objects.filter(
            subject_type="mirror",
            field="state",
            # A subquery, not an id list: an empty list would skip the query and make the
            # query count depend on the data.
            host__in=Mirror.objects.present().exclude(state="COMPLETE").values("host_id"),
        )
        .exclude(new="COMPLETE")
        .order_by("at")
        .values_list("host_id", "subject", "at")
    ):
        since.setdefault((host_id, subject), at)
    rows = [_mirror_row(m, since.get((m.host_id, m.name)), now) for m in mirrors]
    # Bad devices as the device_errors rule sees them: below the pool's own line, in a bad
    # state or with I/O errors.
    bad_devices = ZPoolDevice.objects.filter(depth__gt=0).filter(
        ~Q(state__in=DEVICE_OK)
        | Q(read_errors__gt=0)
        | Q(write_errors__gt=0)
        | Q(cksum_errors__gt=0)
    )
    errored = bad_devices.values("pool_id")
    pools = (
        ZPool.objects.present()
        .filter(host__in=hosts)
        .filter(
            ~Q(health="ONLINE")
            | Q(scan_state="in_progress", scan_kind="resilver")
            | Q(pk__in=errored)
            | Q(cap_pct__gte=t.pool_capacity_warning)
        )
        .select_related("host")
        .order_by("host__name", "name")[:LIST_LIMIT]
    )
    bad_states = defaultdict(list)
    for pool_id, state in bad_devices.filter(pool__host__in=hosts).values_list("pool_id", "state"):
        bad_states[pool_id].append(state)
    for p in pools:
        bad = p.health != "ONLINE"
        detail = p.status.splitlines()[0] if p.status else ""
        resilver = p.scan_state == "in_progress" and p.scan_kind == "resilver"
        if not bad and not resilver:
            detail = (
                "device errors while the pool is ONLINE"
                if bad_states[p.pk]
                else f"{p.cap_pct}% full"
            )
        tone = worst(
            tone_of(pool_health_severity(p.health)),
            tone_of(devices_severity(bad_states[p.pk])),
            tone_of(capacity_severity(p.cap_pct, t)),
        )
        if tone == "ok":
            tone = "info"  # listed only for its resilver: news, but no rule finds a problem
        rows.append(
            StorageRow(
                "pool", p.pk, p.host_id, p.host.name, p.name, p.health, tone,
                p.scan_pct if resilver else None,
                p.scan_eta if resilver else "",
                "resilver in progress" if resilver else detail,
            )
        )  # fmt: skip
    if f.health == "ok":
        rows = []
    elif f.health in ("critical", "warning"):
        rows = [r for r in rows if r.tone == f.health]
    rows.sort(key=lambda r: (r.tone != "critical", r.host_name, r.name))
    return {"rows": rows, "generated_at": now, "version": digest(rows)}


def _mirror_row(m: Mirror, since: datetime | None, now: datetime) -> StorageRow:
    syncing = [c for c in m.components.all() if c.synchronized_pct is not None]
    pct = min((c.synchronized_pct for c in syncing), default=None)
    eta = ""
    if pct is not None and since is not None and pct > 0:
        elapsed = (now - since).total_seconds()
        remaining = elapsed * (100 - pct) / pct
        eta = f"≈ {_short(remaining)} (estimated from progress since {since:%H:%M})"
    elif pct is not None:
        eta = "not enough progress yet to estimate"
    components = [(c.name, c.state, c.synchronized_pct) for c in m.components.all()]
    tone = tone_of(mirror_severity(m.state, components))
    if tone == "warning":
        detail = "rebuilding"
    elif m.state == "DEGRADED":
        detail = "degraded, no component rebuilding"
    else:
        detail = f"{m.state or 'state unknown'}, not rebuilding"
    listing = ", ".join(f"{c.name} {c.state}" for c in m.components.all())
    return StorageRow(
        "mirror", m.pk, m.host_id, m.host.name, m.name, m.state, tone, pct, eta,
        f"{detail}: {listing}" if listing else detail,
    )  # fmt: skip


def _short(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{max(minutes, 1)}m"
