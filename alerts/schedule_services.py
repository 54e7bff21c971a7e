"""Services for on-call schedules and maintenance windows (audited, like every change)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alerts import oncall, routing
from alerts.models import MaintenanceWindow, OnCallSchedule, ScheduleOverride
from audit.services import record


def add_override(
    schedule: OnCallSchedule, *, user, starts_at, ends_at, replaces=None, reason: str = "", by
) -> ScheduleOverride:
    if ends_at <= starts_at:
        raise ValidationError("an override must end after it starts")
    with transaction.atomic():
        override = ScheduleOverride.objects.create(
            schedule=schedule,
            user=user,
            replaces=replaces,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
        )
        record(
            actor=by,
            action="alerts.override",
            target=schedule,
            after={
                "user": user.get_username(),
                "replaces": replaces.get_username() if replaces else None,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
            message=reason,
        )
    return override


def swap_shifts(
    schedule: OnCallSchedule, *, user_a, shift_of_a, user_b, shift_of_b, by
) -> list[ScheduleOverride]:
    """A and B exchange two shifts: in each, the two swap places (primary and secondary).

    `shift_of_a` / `shift_of_b` are any instants inside the shifts to exchange."""
    rotation, _ = routing.rotation_of(schedule)
    bounds_a = oncall.shift_bounds(rotation, shift_of_a)
    bounds_b = oncall.shift_bounds(rotation, shift_of_b)
    if bounds_a == bounds_b:
        raise ValidationError("pick two different shifts to swap")
    reason = f"swap: {user_a.get_username()} <-> {user_b.get_username()}"
    made = []
    with transaction.atomic():
        for start, end in (bounds_a, bounds_b):
            made.append(
                add_override(
                    schedule,
                    user=user_b,
                    replaces=user_a,
                    starts_at=start,
                    ends_at=end,
                    reason=reason,
                    by=by,
                )
            )
            made.append(
                add_override(
                    schedule,
                    user=user_a,
                    replaces=user_b,
                    starts_at=start,
                    ends_at=end,
                    reason=reason,
                    by=by,
                )
            )
    return made


def schedule_window(
    *, target, starts_at, ends_at, reason: str, by, silence: bool = False
) -> MaintenanceWindow:
    """A maintenance window (or silence) on a Host, Cluster or Customer."""
    field = {"host": "host", "cluster": "cluster", "customer": "customer"}[target._meta.model_name]
    window = MaintenanceWindow(
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        silence=silence,
        created_by=by,
        **{field: target},
    )
    window.full_clean()
    with transaction.atomic():
        window.save()
        record(
            actor=by,
            action="alerts.silence" if silence else "alerts.maintenance",
            target=target,
            after={
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "window": window.pk,
            },
            message=reason,
        )
    return window


def silence(target, *, minutes: int, reason: str, by) -> MaintenanceWindow:
    now = timezone.now()
    return schedule_window(
        target=target,
        starts_at=now,
        ends_at=now + timedelta(minutes=minutes),
        reason=reason,
        by=by,
        silence=True,
    )


def end_window(window: MaintenanceWindow, *, by) -> MaintenanceWindow:
    """End a window now; the release sweeper pages what still fires within 15 s."""
    now = timezone.now()
    with transaction.atomic():
        before = window.ends_at
        window.ends_at = max(now, window.starts_at + timedelta(seconds=1))
        window.save(update_fields=["ends_at"])
        record(
            actor=by,
            action="alerts.maintenance_end",
            target=window,
            before={"ends_at": before.isoformat()},
            after={"ends_at": window.ends_at.isoformat()},
        )
    return window
