"""The storage widget of the NOC overview: gmirror mirrors and ZFS pools that need
attention (read side, fixed query count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from hosts.dashboard.common import Filters, digest, host_filter
from hosts.models import Host, Mirror, StatusEvent, ZPool, ZPoolDevice

LIST_LIMIT = 50


GOOD_BACKUP_EXIT = (0, 24)  # rsync 24 = files vanished during transfer: normal on live hosts


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
    """Mirrors not COMPLETE and pools not ONLINE (or ONLINE with device errors, or
    resilvering), with rebuild/resilver progress and ETA. Four queries."""
    now = timezone.now()
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
    errored = ZPoolDevice.objects.filter(
        Q(read_errors__gt=0) | Q(write_errors__gt=0) | Q(cksum_errors__gt=0)
    ).values("pool_id")
    pools = (
        ZPool.objects.present()
        .filter(host__in=hosts)
        .filter(
            ~Q(health="ONLINE")
            | Q(scan_state="in_progress", scan_kind="resilver")
            | Q(pk__in=errored)
        )
        .select_related("host")
        .order_by("host__name", "name")[:LIST_LIMIT]
    )
    for p in pools:
        bad = p.health != "ONLINE"
        detail = p.status.splitlines()[0] if p.status else ""
        resilver = p.scan_state == "in_progress" and p.scan_kind == "resilver"
        if not bad and not resilver:
            detail = "device errors while the pool is ONLINE"
        tone = "critical" if p.health in ("FAULTED", "UNAVAIL", "SUSPENDED") else "warning"
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
    tone = "warning" if syncing else "critical"
    detail = "rebuilding" if syncing else "degraded, no component rebuilding"
    components = ", ".join(f"{c.name} {c.state}" for c in m.components.all())
    return StorageRow(
        "mirror", m.pk, m.host_id, m.host.name, m.name, m.state, tone, pct, eta,
        f"{detail}: {components}" if components else detail,
    )  # fmt: skip


def _short(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{max(minutes, 1)}m"
