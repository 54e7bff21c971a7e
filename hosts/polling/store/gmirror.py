"""Store gmirror mirrors and their components."""

from __future__ import annotations

from hosts.models import (
    Mirror,
    MirrorComponent,
)
from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, clean, mark_gone, read, save_if_changed


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
