"""Alerts and their timelines.

An Alert is the lifecycle of one finding's dedup key: firing -> acknowledged -> resolved. At
most one alert per key is open (a conditional unique constraint), so a trigger after resolve
opens a new row. The escalation clock is data on the row: `next_step_at` (due time of the
next step), `escalation_step` (its index) and `escalation_token` (compare-and-set guard
against duplicate or stale task deliveries)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.choices import STATE_BADGE, AlertState, EventKind, Severity
from customers.models import Customer
from hosts.models import Cluster, Host
from hosts.models.findings import SEVERITY_RANK


def new_token() -> str:
    return uuid.uuid4().hex


class AlertQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def roots(self):
        return self.filter(parent__isnull=True)


class Alert(models.Model):
    dedup_key = models.CharField(max_length=200)
    scope = models.CharField(max_length=40, db_index=True)
    kind = models.CharField(max_length=40, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity)
    state = models.CharField(max_length=15, choices=AlertState, default=AlertState.FIRING)
    subject = models.CharField(max_length=200)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    # How many things are affected (vhids, disks, members...): a rise means "got worse".
    magnitude = models.PositiveIntegerField(default=1)
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    # Root-cause grouping: a child is explained by its parent and never pages on its own.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # Expected: caused by a maintenance window or an operation (says so in the page).
    expected = models.BooleanField(default=False)
    expected_reason = models.CharField(max_length=200, blank=True)
    # Suppressed: inside a maintenance window or silence, recorded and shown, not paged.
    suppressed = models.BooleanField(default=False)

    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_note = models.CharField(max_length=500, blank=True)
    ack_eta = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolve_note = models.CharField(max_length=500, blank=True)

    # Escalation: the policy is copied at open time so later edits leave this alert alone.
    policy = models.ForeignKey(
        "alerts.EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL
    )
    policy_snapshot = models.JSONField(null=True, blank=True)
    page_generation = models.PositiveIntegerField(default=0)
    escalation_step = models.PositiveIntegerField(default=0)
    escalation_token = models.CharField(max_length=32, default=new_token)
    next_step_at = models.DateTimeField(null=True, blank=True)
    escalation_rearms = models.PositiveSmallIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=Q(resolved_at__isnull=True),
                name="alerts_one_open_alert_per_dedup_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                condition=Q(next_step_at__isnull=False),
                name="alerts_escalation_due",
            ),
            models.Index(fields=["state", "-opened_at"], name="alerts_state_opened"),
        ]

    def __str__(self):
        return f"#{self.pk} [{self.severity}] {self.subject}: {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)

    @property
    def state_badge(self) -> str:
        return STATE_BADGE.get(self.state, "unknown")

    @property
    def pageable(self) -> bool:
        """Firing, a root cause (not explained by another alert) and not in maintenance."""
        return self.state == AlertState.FIRING and self.parent_id is None and not self.suppressed


class AlertEvent(models.Model):
    """One line of an alert's timeline (append-only)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=EventKind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["alert", "at"])]

    def __str__(self):
        return f"{self.at:%H:%M:%S} #{self.alert_id} {self.kind}: {self.text}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("alert events are append-only")
        super().save(*args, **kwargs)
