"""Store jails: running ones from jls, stopped ones from jail.conf."""

from __future__ import annotations

from hosts.freebsd.jailconf import configured_jails
from hosts.models import (
    Jail,
)
from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, clean, mark_gone, read, save_if_changed


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
