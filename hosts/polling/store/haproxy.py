"""Store HAProxy backends and servers, with their admin/operational state."""

from __future__ import annotations

from hosts.models import (
    HaproxyBackend,
    HaproxyServer,
)
from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, clean, mark_gone, read, save_if_changed

# Current sessions: shown on pages, read by no rule; a change of them alone is no news.
SESSION_COUNTERS = frozenset({"scur"})


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
