"""Store ZFS pools with their vdev trees (zpool status -p, zpool list -Hp)."""

from __future__ import annotations

from datetime import UTC, datetime

from hosts.models import ZPool, ZPoolDevice
from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, clean, mark_gone, read, save_if_changed

_SECTIONS = ("vdevs", "logs", "cache", "spares", "special", "dedup")


_SECTION_NAMES = {"vdevs": "data"}


def _scan_finished_at(scan) -> datetime | None:
    if scan is None or not scan.finished_on:
        return None
    try:
        return datetime.strptime(scan.finished_on.strip(), "%a %b %d %H:%M:%S %Y").replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def _flatten(pool) -> list[dict]:
    """The vdev forest as rows in print order, with depth and section."""
    rows: list[dict] = []

    def walk(vdev, section: str, depth: int, parent: int | None):
        index = len(rows)
        rows.append(
            {
                "section": section,
                "depth": depth,
                "parent": parent,
                "name": vdev.name[:200],
                "state": vdev.state or "",
                "read_errors": vdev.read or 0,
                "write_errors": vdev.write or 0,
                "cksum_errors": vdev.cksum or 0,
                "note": (vdev.note or (f"was {vdev.was}" if vdev.was else ""))[:200],
            }
        )
        for child in vdev.children:
            walk(child, section, depth + 1, index)

    for attr in _SECTIONS:
        for vdev in getattr(pool, attr, ()):
            walk(vdev, _SECTION_NAMES.get(attr, attr), 0, None)
    return rows


def _store_devices(ctx: PollContext, row: ZPool, parsed) -> None:
    new_rows = _flatten(parsed)
    old = sorted(row.devices.all(), key=lambda d: d.position) if row.pk else []
    old_by_name = {(d.section, d.name): d for d in old}
    for data in new_rows:
        prev = old_by_name.get((data["section"], data["name"]))
        ctx.change(
            "zpool",
            f"{row.name}/{data['name']}",
            "state",
            prev.state if prev else "",
            data["state"],
        )
        if prev is not None and (prev.cksum_errors, prev.read_errors, prev.write_errors) != (
            data["cksum_errors"],
            data["read_errors"],
            data["write_errors"],
        ):
            errors = f"{data['read_errors']}/{data['write_errors']}/{data['cksum_errors']}"
            before = f"{prev.read_errors}/{prev.write_errors}/{prev.cksum_errors}"
            ctx.change("zpool", f"{row.name}/{data['name']}", "errors r/w/ck", before, errors)
    old_shape = [
        (d.section, d.depth, d.name, d.state, d.read_errors, d.write_errors, d.cksum_errors, d.note)
        for d in old
    ]
    new_shape = [
        (
            r["section"],
            r["depth"],
            r["name"],
            r["state"],
            r["read_errors"],
            r["write_errors"],
            r["cksum_errors"],
            r["note"],
        )
        for r in new_rows
    ]
    if old_shape == new_shape:
        return
    # Small trees (a few dozen rows): replacing them whole is simpler than diffing parents.
    row.devices.all().delete()
    created: list[ZPoolDevice] = []
    for position, data in enumerate(new_rows):
        parent_index = data.pop("parent")
        device = ZPoolDevice(
            pool=row,
            position=position,
            parent=created[parent_index] if parent_index is not None else None,
            **data,
        )
        device.save()
        created.append(device)


def store_zpools(ctx: PollContext, sections: dict[str, Section]) -> None:
    status = read(ctx, "zpool", sections.get("zpool-status"))
    listing = read(ctx, "zpool", sections.get("zpool-list"))
    if status is None:
        return
    sizes = {p.name: p for p in listing.pools} if listing is not None else {}
    existing = {p.name: p for p in ctx.host.zpools.prefetch_related("devices")}
    keep: set[int] = set()
    for parsed in status.pools:
        if not parsed.name:
            continue
        row = existing.get(parsed.name) or ZPool(host=ctx.host, name=parsed.name)
        ctx.change("zpool", parsed.name, "health", row.health if row.pk else "", parsed.state)
        size = sizes.get(parsed.name)
        scan = parsed.scan
        values = {
            "health": parsed.state or "",
            "status": (parsed.status or "")[:2000],
            "action": (parsed.action or "")[:2000],
            "errors": (parsed.errors or "")[:2000],
            "scan_kind": (scan.kind or "") if scan else "",
            "scan_state": (scan.state or "") if scan else "",
            "scan_pct": scan.progress_pct if scan else None,
            "scan_eta": ((scan.to_go or "") if scan else "")[:40],
            "scan_text": ((scan.text or "") if scan else "")[:2000],
        }
        finished = _scan_finished_at(scan)
        if finished is not None:
            values["scan_finished_at"] = finished
        if size is not None:
            values |= {
                "size": size.size,
                "alloc": size.alloc,
                "free": size.free,
                "frag_pct": int(size.frag_pct) if size.frag_pct is not None else None,
                "cap_pct": int(size.cap_pct) if size.cap_pct is not None else None,
            }
            ctx.metric("pool_cap_pct", parsed.name, size.cap_pct)
        save_if_changed(row, values, ctx)
        keep.add(row.pk)
        _store_devices(ctx, row, parsed)
    if clean(ctx, "zpool"):
        mark_gone(existing.values(), keep, ctx, "zpool", lambda p: p.name)
