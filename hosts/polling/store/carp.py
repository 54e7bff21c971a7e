"""Store CARP vhids (from ifconfig), the CARP sysctls and the pfsync interface state."""

from __future__ import annotations

from hosts.models import (
    CarpVhid,
)
from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, clean, mark_gone, read, save_if_changed


def store_carp(ctx: PollContext, sections: dict[str, Section]) -> None:
    ifconfig = read(ctx, "carp", sections.get("ifconfig"))
    sysctl = read(ctx, "carp", sections.get("sysctl-carp"))
    if sysctl is not None:
        values = sysctl.values
        for attr, oid in (
            ("carp_allow", "net.inet.carp.allow"),
            ("carp_preempt", "net.inet.carp.preempt"),
            ("carp_demotion", "net.inet.carp.demotion"),
        ):
            new = values.get(oid)
            new = new if isinstance(new, int) else None
            ctx.change("host", ctx.host.name, attr, getattr(ctx.facts, attr), new)
            setattr(ctx.facts, attr, new)
    if ifconfig is None:
        return
    existing = {(v.interface, v.vhid): v for v in ctx.host.carp_vhids.all()}
    keep: set[int] = set()
    pfsync = None
    for iface in ifconfig.interfaces:
        if iface.pfsync is not None:
            pfsync = iface.pfsync
        for carp in iface.carp:
            if carp.vhid is None or iface.name is None:
                continue
            vips = [
                f"{a.address}/{a.prefixlen}" if a.prefixlen is not None else a.address
                for a in (*iface.inet, *iface.inet6)
                if a.vhid == carp.vhid
            ]
            row = existing.get((iface.name, carp.vhid)) or CarpVhid(
                host=ctx.host, interface=iface.name, vhid=carp.vhid
            )
            label = f"vhid {carp.vhid}@{iface.name}"
            ctx.change("carp", label, "state", row.state if row.pk else "", carp.state)
            save_if_changed(
                row,
                {
                    "state": carp.state,
                    "advbase": carp.advbase,
                    "advskew": carp.advskew,
                    "vips": sorted(vips),
                    "peer": carp.peer or "",
                },
                ctx,
            )
            keep.add(row.pk)
    if clean(ctx, "carp"):
        mark_gone(existing.values(), keep, ctx, "carp", lambda v: f"vhid {v.vhid}@{v.interface}")
    store_pfsync(ctx, pfsync, clean(ctx, "carp"))


def store_pfsync(ctx: PollContext, pfsync, complete: bool) -> None:
    facts = ctx.facts
    if pfsync is None and not complete:
        return
    present = pfsync is not None
    syncok = pfsync.syncok if present else None
    ctx.change("pfsync", "pfsync0", "syncok", facts.pfsync_syncok, syncok)
    ctx.change("pfsync", "pfsync0", "present", facts.pfsync_present, present)
    facts.pfsync_present = present
    facts.pfsync_syncok = syncok
    facts.pfsync_syncdev = (pfsync.syncdev or "") if present else ""
    facts.pfsync_syncpeer = (pfsync.syncpeer or "") if present else ""
    facts.pfsync_maxupd = pfsync.maxupd if present else None
    defer = pfsync.defer if present else None
    facts.pfsync_defer = "" if defer is None else ("on" if defer else "off")
