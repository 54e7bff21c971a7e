"""Which policy an alert follows, and who a step notifies right now."""

from django.contrib.auth import get_user_model

from alerts import oncall
from alerts.choices import TargetType
from alerts.models import (
    Alert,
    EscalationPolicy,
    NotificationChannel,
    OnCallSchedule,
    RoutingRule,
)
from hosts.models.findings import SEVERITY_RANK


def choose_policy(alert: Alert) -> EscalationPolicy | None:
    """First rule (by position) whose non-empty fields all match, else the default policy."""
    cluster_kind = alert.cluster.kind if alert.cluster_id else None
    for rule in RoutingRule.objects.select_related("policy"):
        if rule.customer_id and rule.customer_id != alert.customer_id:
            continue
        if rule.cluster_kind and rule.cluster_kind != cluster_kind:
            continue
        if rule.min_severity and alert.severity_rank < SEVERITY_RANK[rule.min_severity]:
            continue
        return rule.policy
    return EscalationPolicy.objects.filter(is_default=True).order_by("pk").first()


def snapshot(policy: EscalationPolicy) -> dict:
    return {
        "policy_id": policy.pk,
        "name": policy.name,
        "repeat": policy.repeat,
        "repeat_after_minutes": policy.repeat_after_minutes,
        "max_pages_per_hour": policy.max_pages_per_hour,
        "steps": [s.as_snapshot() for s in policy.steps.order_by("position")],
    }


def rotation_of(schedule: OnCallSchedule) -> tuple[oncall.Rotation, list[oncall.Override]]:
    rotation = oncall.Rotation(
        members=tuple(m.user_id for m in schedule.members.order_by("position")),
        start_date=schedule.start_date,
        handoff_time=schedule.handoff_time,
        rotation_days=schedule.rotation_days,
        timezone=schedule.timezone,
    )
    overrides = [
        oncall.Override(o.user_id, o.replaces_id, o.starts_at, o.ends_at)
        for o in schedule.overrides.all()
    ]
    return rotation, overrides


def on_call_user_id(schedule: OnCallSchedule, at, level: int = 0) -> int | None:
    rotation, overrides = rotation_of(schedule)
    return oncall.on_call(rotation, overrides, at, level)


def recipients(target: dict, at) -> tuple[list, list[NotificationChannel], str]:
    """(users, their enabled channels, a reason when nobody can be reached) for one step."""
    User = get_user_model()
    kind = target["type"]
    if kind == TargetType.CHANNEL:
        channels = list(NotificationChannel.objects.filter(pk=target["channel_id"], enabled=True))
        return [], channels, "" if channels else "the step's channel is disabled or gone"
    if kind == TargetType.ONCALL:
        schedule = OnCallSchedule.objects.filter(pk=target["schedule_id"]).first()
        uid = on_call_user_id(schedule, at, target.get("level", 0)) if schedule else None
        users = list(User.objects.filter(pk=uid, is_active=True)) if uid else []
        if not users:
            return [], [], "nobody is on call in the schedule"
    elif kind == TargetType.USER:
        users = list(User.objects.filter(pk=target["user_id"], is_active=True))
    elif kind == TargetType.GROUP:
        users = list(User.objects.filter(groups__pk=target["group_id"], is_active=True))
    else:
        return [], [], f"unknown target type {kind!r}"
    channels = list(
        NotificationChannel.objects.filter(user__in=users, enabled=True).select_related("user")
    )
    return (
        users,
        channels,
        "" if channels else "no enabled channel for " + ", ".join(u.get_username() for u in users),
    )
