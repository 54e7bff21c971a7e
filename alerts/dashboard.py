"""Read side: one context function per page or widget (no writes)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from alerts import escalation, oncall, routing
from alerts.choices import AlertState
from alerts.models import Alert, OnCallSchedule

OPEN_WIDGET_LIMIT = 50


def open_alerts(limit: int = OPEN_WIDGET_LIMIT) -> dict:
    qs = (
        Alert.objects.open()
        .roots()
        .select_related("acknowledged_by", "cluster", "host")
        .annotate(open_children=Count("children", filter=Q(children__resolved_at__isnull=True)))
        .order_by("state", "-opened_at")
    )
    alerts = list(qs[:limit])
    counts = dict(
        Alert.objects.open().values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    return {
        "alerts": alerts,
        "firing": counts.get(AlertState.FIRING, 0),
        "acknowledged": counts.get(AlertState.ACKNOWLEDGED, 0),
        "more": max(0, qs.count() - len(alerts)) if len(alerts) == limit else 0,
    }


def schedules(now) -> list[dict]:
    """Who is on call now and next, and the coming hand-offs, for every schedule."""
    users = {u.pk: u for u in get_user_model().objects.all()}
    out = []
    for schedule in OnCallSchedule.objects.prefetch_related("members", "overrides"):
        rotation, overrides = routing.rotation_of(schedule)
        _start, end = oncall.shift_bounds(rotation, now) if rotation.members else (None, None)
        out.append(
            {
                "schedule": schedule,
                "primary": users.get(oncall.on_call(rotation, overrides, now, 0)),
                "secondary": users.get(oncall.on_call(rotation, overrides, now, 1)),
                "next": users.get(oncall.on_call(rotation, overrides, end, 0)) if end else None,
                "shift_ends": end,
                "handoffs": [
                    {"at": h.at, "from": users.get(h.from_user), "to": users.get(h.to_user)}
                    for h in oncall.upcoming_handoffs(rotation, overrides, now, count=4)
                ],
                "overrides": [o for o in schedule.overrides.all() if o.ends_at > now],
            }
        )
    return out


def my_open_alerts(user):
    """Open root alerts I was paged for, most recent first."""
    return (
        Alert.objects.open()
        .roots()
        .filter(notifications__recipient=user)
        .distinct()
        .select_related("acknowledged_by", "cluster", "host")
        .order_by("state", "-opened_at")
    )


def alert_detail(alert: Alert) -> dict:
    steps = [
        {
            "label": escalation.describe(alert.policy_snapshot, i),
            "target": target,
            "at": at,
            "done": i < alert.escalation_step,
        }
        for i, at, target in escalation.plan(alert.policy_snapshot, alert.opened_at)
    ]
    return {
        "alert": alert,
        "events": alert.events.select_related("actor"),
        "children": alert.children.select_related("host", "cluster").order_by("-opened_at"),
        "notifications": alert.notifications.select_related(
            "channel", "recipient"
        ).prefetch_related("attempts_log"),
        "steps": steps,
    }
