"""On-call schedules, escalation policies and routing: configuration, edited by NOC staff."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models

from alerts.choices import Severity, TargetType
from customers.models import Customer
from hosts.choices import ClusterKind


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {value!r}") from exc


class OnCallSchedule(models.Model):
    """A rotation: members take turns of `rotation_days`, handing off at `handoff_time`
    (local to `timezone`), starting with position 0 on `start_date`. The person after the
    current one in the rotation is the secondary (level 1)."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    start_date = models.DateField()
    handoff_time = models.TimeField()
    rotation_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ScheduleMember(models.Model):
    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "position"], name="alerts_member_position")
        ]

    def __str__(self):
        return f"{self.schedule}: {self.position} {self.user}"


class ScheduleOverride(models.Model):
    """`user` is on call instead of `replaces` (or instead of the primary, if empty) from
    `starts_at` to `ends_at`. A swap is two overrides."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    replaces = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="alerts_override_ends_after_start",
            )
        ]

    def __str__(self):
        return f"{self.user} for {self.replaces or 'primary'} {self.starts_at:%Y-%m-%d %H:%M}"


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False, help_text="Used when no routing rule matches.")
    repeat = models.PositiveSmallIntegerField(
        default=1, help_text="How many times the whole list repeats after the last step."
    )
    repeat_after_minutes = models.PositiveIntegerField(default=15)
    max_pages_per_hour = models.PositiveIntegerField(
        default=30, help_text="Rate cap: steps past this many pages in an hour notify nobody."
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self):
        return self.name


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    delay_minutes = models.PositiveIntegerField(
        default=0, help_text="Wait after the previous step (after opening, for the first)."
    )
    target_type = models.CharField(max_length=10, choices=TargetType)
    schedule = models.ForeignKey(
        OnCallSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(default=0, help_text="0 primary, 1 secondary")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.ForeignKey(
        "alerts.NotificationChannel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="alerts_step_position")
        ]

    def __str__(self):
        return f"{self.policy} step {self.position}: {self.target_type}"

    def clean(self):
        needed = {
            TargetType.ONCALL: "schedule",
            TargetType.USER: "user",
            TargetType.GROUP: "group",
            TargetType.CHANNEL: "channel",
        }[self.target_type]
        if getattr(self, f"{needed}_id") is None:
            raise ValidationError({needed: f"required for a {self.target_type} step"})

    def as_snapshot(self) -> dict:
        return {
            "delay_minutes": self.delay_minutes,
            "target": {
                "type": self.target_type,
                "schedule_id": self.schedule_id,
                "level": self.level,
                "user_id": self.user_id,
                "group_id": self.group_id,
                "channel_id": self.channel_id,
            },
        }


class RoutingRule(models.Model):
    """First matching rule (by position) picks the policy; empty fields match anything."""

    position = models.PositiveSmallIntegerField(default=0)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="rules")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    cluster_kind = models.CharField(max_length=20, choices=ClusterKind, blank=True)
    min_severity = models.CharField(max_length=10, choices=Severity, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        parts = [
            f"customer={self.customer}" if self.customer_id else "",
            f"cluster kind={self.cluster_kind}" if self.cluster_kind else "",
            f"severity>={self.min_severity}" if self.min_severity else "",
        ]
        return f"{' '.join(p for p in parts if p) or 'any'} -> {self.policy}"
