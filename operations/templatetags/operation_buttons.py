"""`{% operation_buttons "cluster" obj %}`: the act buttons on the NOC pages of hosts, shown
only to people allowed to plan operations (NOC). Each opens the plan form prefilled; nothing
changes until the plan is reviewed and approved there.

Must not: query more than the object's own relations (the pages have query budgets)."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from nyiops.roles import is_noc
from operations import actions

register = template.Library()


def _link(label: str, kind: str, target: str, **params) -> dict | None:
    try:
        actions.get(kind)
    except KeyError:
        return None  # a kind not built yet: no button
    query = {"kind": kind, "target": target} | {f"p_{k}": v for k, v in params.items()}
    return {"label": label, "url": f"{reverse('operations:plan')}?{urlencode(query)}"}


def _buttons(what: str, obj) -> list[dict]:
    links = []
    if what == "cluster":
        for member in obj.members.select_related("host"):
            name = member.host.name
            links.append(
                _link(f"Start maintenance of {name}", "carp-maintenance", obj.name, node=name)
            )
            links.append(
                _link(f"End maintenance of {name}", "carp-maintenance-end", obj.name, node=name)
            )
        if obj.kind in ("firewall", "vpn"):
            links.append(_link("Push ruleset", "pf-push", obj.name))
    elif what == "host":
        if obj.memberships.exists():
            links.append(_link("Start maintenance", "carp-maintenance", obj.name))
            links.append(_link("End maintenance", "carp-maintenance-end", obj.name))
    elif what == "backend":
        for server in obj.servers.filter(gone_at__isnull=True):
            links.append(
                _link(f"Drain {server.name}", "haproxy-drain", f"{obj.name}/{server.name}")
            )
            links.append(
                _link(f"Undrain {server.name}", "haproxy-undrain", f"{obj.name}/{server.name}")
            )
    elif what in ("mirror", "pool"):
        links.append(_link("Replace disk", "disk-replace", obj.host.name, **{what: obj.name}))
        if what == "mirror":
            links.append(
                _link(
                    "Clone server from this mirror", "mirror-clone", obj.host.name, mirror=obj.name
                )
            )
    elif what == "backup":
        links.append(_link("Back up now", "backup-now", obj.name))
    return [link for link in links if link]


@register.inclusion_tag("operations/partials/buttons.html", takes_context=True)
def operation_buttons(context, what: str, obj):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not is_noc(user):
        return {"buttons": []}
    return {"buttons": _buttons(what, obj)}
