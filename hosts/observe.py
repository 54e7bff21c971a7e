"""Store what a poll read: upsert observed rows, append a StatusEvent per state change.

Rules that keep history trustworthy:
- a subsystem whose output could not be read keeps its last good rows untouched and gets
  an entry in HostFacts.subsystem_errors (the `parse_error` finding reads it);
- rows that vanish from a complete, clean output are marked gone, never deleted;
- a row is written only when something in it changed, so an unchanged fleet costs reads only;
- events are computed against the stored rows inside the poll's transaction, so re-running
  the same poll finds nothing new and appends nothing.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from hosts.fingerprints import section_fingerprint
from hosts.jailconf import configured_jails
from hosts.models import (
    CarpVhid,
    HaproxyBackend,
    HaproxyServer,
    Jail,
    MetricSample,
    Mirror,
    MirrorComponent,
)
from hosts.observe_common import PollContext, clean, mark_gone, read, save_if_changed
from hosts.observe_storage import store_backups, store_zpools

if TYPE_CHECKING:
    from hosts.polling import Section

METRICS_EVERY = timedelta(seconds=60)
# HAProxy's current sessions: shown on pages, read by no rule.
SESSION_COUNTERS = frozenset({"scur"})


def store_system(ctx: PollContext, sections: dict[str, Section]) -> None:
    version = read(ctx, "system", sections.get("freebsd-version"))
    uname = read(ctx, "system", sections.get("uname"))
    if version is not None and version.versions:
        # freebsd-version prints the userland version (the first line without -k/-u).
        text = version.versions[0].text
        ctx.change("host", ctx.host.name, "freebsd_version", ctx.facts.freebsd_version, text)
        ctx.facts.freebsd_version = text
    if uname is not None and uname.sysname:
        ctx.facts.uname = sections["uname"].output.strip()[:300]


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


def store_pf(ctx: PollContext, sections: dict[str, Section]) -> None:
    info = read(ctx, "pf", sections.get("pfctl-info"))
    if info is not None:
        ctx.change("pf", "pf", "enabled", ctx.facts.pf_enabled, info.enabled)
        ctx.facts.pf_enabled = info.enabled
        states = info.state_table.get("current_entries")
        if states != ctx.facts.pf_states:
            # A counter, stored once a minute; the pair's state_tables_diverged rule reads it.
            ctx.dirty = True
        ctx.facts.pf_states = states
        ctx.metric("pf_states", "", ctx.facts.pf_states)
    rules = sections.get("pfctl-rules")
    if rules is not None and rules.exit_status == 0:
        # Compared between pair members: same rules in the same order, same hash.
        normalized = "\n".join(line.strip() for line in rules.output.splitlines() if line.strip())
        digest = hashlib.sha256(normalized.encode()).hexdigest()
        ctx.change("pf", "pf", "ruleset", ctx.facts.pf_ruleset_hash[:12], digest[:12])
        ctx.facts.pf_ruleset_hash = digest


def store_gmirror(ctx: PollContext, sections: dict[str, Section]) -> None:
    result = read(ctx, "gmirror", sections.get("gmirror-list"))
    if result is None:
        return
    existing = {m.name: m for m in ctx.host.mirrors.prefetch_related("components")}
    keep: set[int] = set()
    for parsed in result.mirrors:
        row = existing.get(parsed.name) or Mirror(host=ctx.host, name=parsed.name)
        # Components come prefetched with the mirror; a new mirror has none yet.
        old = {c.name: c for c in row.components.all()} if row.pk else {}
        ctx.change("mirror", parsed.name, "state", row.state if row.pk else "", parsed.state)
        save_if_changed(
            row,
            {
                "state": parsed.state or "",
                "balance": parsed.balance or "",
                "components_count": parsed.components_count,
            },
            ctx,
        )
        keep.add(row.pk)
        new_names = set()
        for comp in parsed.components:
            new_names.add(comp.name)
            prev = old.get(comp.name)
            ctx.change(
                "mirror",
                f"{parsed.name}/{comp.name}",
                "state",
                prev.state if prev else "",
                comp.state,
            )
            values = {
                "state": comp.state or "",
                "flags": list(comp.flags),
                "synchronized_pct": comp.synchronized_pct,
            }
            if prev is None:
                MirrorComponent.objects.create(mirror=row, name=comp.name, **values)
            elif any(getattr(prev, k) != v for k, v in values.items()):
                MirrorComponent.objects.filter(pk=prev.pk).update(**values)
        for name, prev in old.items():
            if name not in new_names:
                ctx.change("mirror", f"{parsed.name}/{name}", "state", prev.state, "gone")
                prev.delete()
    if clean(ctx, "gmirror"):
        mark_gone(existing.values(), keep, ctx, "mirror", lambda m: m.name)


def store_jails(ctx: PollContext, sections: dict[str, Section]) -> None:
    result = read(ctx, "jails", sections.get("jls"))
    if result is None:
        return
    conf = sections.get("jail-conf")
    configured = (
        set(configured_jails(conf.output)) if conf is not None and conf.exit_status == 0 else None
    )
    existing = {j.name: j for j in ctx.host.jails.all()}
    seen: set[str] = set()
    for parsed in result.jails:
        name = parsed.name or (str(parsed.jid) if parsed.jid is not None else None)
        if not name:
            continue
        seen.add(name)
        row = existing.get(name) or Jail(host=ctx.host, name=name)
        ctx.change("jail", name, "running", "yes" if row.running and row.pk else "", "yes")
        save_if_changed(
            row,
            {
                "jid": parsed.jid,
                "hostname": parsed.hostname or "",
                "path": parsed.path or "",
                "ipv4": list(parsed.ipv4),
                "ipv6": list(parsed.ipv6),
                "running": True,
            },
            ctx,
        )
    if not clean(ctx, "jails"):
        return
    # jls lists running jails only: a configured (or previously seen) jail that is missing
    # has stopped; one that is neither configured nor running any more is gone.
    for name in (configured or set()) - seen - set(existing):
        existing[name] = Jail(host=ctx.host, name=name, running=True)
    for name, row in existing.items():
        if name in seen:
            continue
        if configured is not None and name not in configured:
            if row.pk and row.gone_at is None:
                mark_gone([row], set(), ctx, "jail", lambda j: j.name)
            continue
        if row.running or row.pk is None:
            ctx.change("jail", name, "running", "yes" if row.pk else "", "no")
            save_if_changed(row, {"running": False, "jid": None}, ctx)


def store_haproxy(ctx: PollContext, sections: dict[str, Section]) -> None:
    stat = read(ctx, "haproxy", sections.get("haproxy-stat"))
    state = read(ctx, "haproxy", sections.get("haproxy-servers-state"))
    if stat is None:
        return
    admin = {}
    if state is not None:
        admin = {(s.backend, s.name): s for s in state.servers}
    backends = {b.name: b for b in ctx.host.haproxy_backends.all()}
    servers = {
        (s.backend_id, s.name): s for s in HaproxyServer.objects.filter(backend__host=ctx.host)
    }
    keep_backends: set[int] = set()
    for proxy in stat.proxies:
        if proxy.backend is None:
            continue
        row = backends.get(proxy.name) or HaproxyBackend(host=ctx.host, name=proxy.name)
        status = str(proxy.backend.get("status") or "")
        up = sum(1 for s in proxy.servers if (s.status or "").startswith("UP"))
        ctx.change("haproxy", proxy.name, "status", row.status if row.pk else "", status)
        save_if_changed(
            row,
            {
                "status": status,
                "scur": proxy.backend.get("scur"),
                "servers_up": up,
                "servers_total": len(proxy.servers),
            },
            ctx,
            counters=SESSION_COUNTERS,
        )
        keep_backends.add(row.pk)
        ctx.metric("backend_scur", proxy.name, proxy.backend.get("scur"))
        keep_servers: set[int] = set()
        for server in proxy.servers:
            srow = servers.get((row.pk, server.name)) or HaproxyServer(
                backend=row, name=server.name
            )
            st = admin.get((proxy.name, server.name))
            label = f"{proxy.name}/{server.name}"
            ctx.change("haproxy", label, "status", srow.status if srow.pk else "", server.status)
            save_if_changed(
                srow,
                {
                    "status": server.status or "",
                    "weight": server.weight,
                    "check_status": server.check_status or "",
                    "scur": server.scur,
                    "address": (st.address if st else "") or str(server.fields.get("addr") or ""),
                    "admin_state": st.admin_state if st else None,
                    "op_state": st.op_state if st else None,
                },
                ctx,
                counters=SESSION_COUNTERS,
            )
            keep_servers.add(srow.pk)
        if clean(ctx, "haproxy"):
            own = [s for (backend_id, _), s in servers.items() if backend_id == row.pk]
            mark_gone(own, keep_servers, ctx, "haproxy", lambda s: s.name)
    if clean(ctx, "haproxy"):
        mark_gone(backends.values(), keep_backends, ctx, "haproxy", lambda b: b.name)


def store_metrics(ctx: PollContext) -> None:
    last = ctx.facts.metrics_sampled_at
    if last is not None and ctx.now - last < METRICS_EVERY:
        return
    MetricSample.objects.bulk_create(
        MetricSample(host=ctx.host, metric=name, subject=subject, at=ctx.now, value=value)
        for name, subject, value in ctx.metrics
    )
    ctx.facts.metrics_sampled_at = ctx.now


# Each subsystem: the poll sections it reads and the function that stores them.
SUBSYSTEMS = (
    ("system", ("freebsd-version", "uname"), store_system),
    ("gmirror", ("gmirror-list",), store_gmirror),
    ("carp", ("ifconfig", "sysctl-carp"), store_carp),
    ("pf", ("pfctl-info", "pfctl-rules"), store_pf),
    ("haproxy", ("haproxy-stat", "haproxy-servers-state"), store_haproxy),
    ("jails", ("jls", "jail-conf"), store_jails),
)


# Subsystems whose sections carry counters (hosts.fingerprints.COUNTER_KINDS): when only
# their counters moved they are skipped like unchanged ones, except once a minute, when
# the counters are stored with the metric samples.
COUNTER_SUBSYSTEMS = frozenset({"pf", "haproxy"})


def _unchanged(keys, fingerprints: dict[str, str], previous: dict[str, str]) -> bool:
    """Every section says what the last stored poll's said: nothing to parse or store."""
    return all(k in fingerprints and previous.get(k) == fingerprints[k] for k in keys)


def metrics_due(ctx: PollContext) -> bool:
    last = ctx.facts.metrics_sampled_at
    return last is None or ctx.now - last >= METRICS_EVERY


def store_poll(
    ctx: PollContext, sections: list[Section], backup_jobs, fingerprints: dict | None = None
) -> None:
    """Store every section of a successful poll; call inside the poll's transaction. The
    caller saves ctx.facts and ctx.events.

    A subsystem whose sections' fingerprints did not change since the last stored poll is
    not parsed again: its rows are still true and its previous parse error (if any) still
    stands. `fingerprints` ({key: hosts.fingerprints.section_fingerprint}) is computed here
    when the caller has none."""
    by_key = {s.command.key: s for s in sections}
    if fingerprints is None:
        fingerprints = {
            s.command.key: section_fingerprint(s.command.kind, s.output, s.exit_status)
            for s in sections
        }
    previous = ctx.facts.section_fingerprints or {}
    counters_due = metrics_due(ctx)
    previous_errors = dict(ctx.facts.subsystem_errors or {})
    backup_keys = tuple(k for k in by_key if k.startswith(("backup-log:", "snapshots:")))
    plan = [*SUBSYSTEMS, ("zpool", ("zpool-status", "zpool-list"), store_zpools)]
    if backup_keys:
        plan.append(("backup", backup_keys, lambda c, b: store_backups(c, b, backup_jobs)))
    for name, keys, store in plan:
        if not any(k in by_key for k in keys):
            continue  # not a subsystem of this host's roles
        if (counters_due and name in COUNTER_SUBSYSTEMS) or not _unchanged(
            keys, fingerprints, previous
        ):
            store(ctx, by_key)
        else:
            ctx.errors.update(
                {k: v for k, v in previous_errors.items() if k == name or k.startswith(name + ":")}
            )
    store_metrics(ctx)
    if ctx.errors != previous_errors:
        ctx.dirty = True
    ctx.facts.subsystem_errors = ctx.errors
    ctx.facts.section_fingerprints = fingerprints
    # The raw outputs of the last stored poll, for the host page: a poll that changes
    # nothing takes the fast path and leaves them (and the facts row) alone.
    ctx.facts.raw_outputs = {
        s.command.key: {
            "command": s.command.shell,
            "exit": s.exit_status,
            "output": s.output[:65536],
        }
        for s in sections
    }
