"""Where notifications go (channels), the outbox of notifications, and the delivery log."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from alerts.choices import EVENT_TYPES, ChannelKind, NotificationPurpose, NotificationStatus
from alerts.models.alerts import Alert
from nyiops.crypto import EncryptedTextField


def validate_event_types(value):
    if not isinstance(value, list) or any(v not in EVENT_TYPES for v in value):
        raise ValidationError(f"a list of event types among {', '.join(EVENT_TYPES)}")


class NotificationChannel(models.Model):
    """A user's email address or webhook, or a shared (team) webhook when `user` is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_channels",
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind)
    email = models.EmailField(blank=True)
    url = models.URLField(blank=True)
    secret = EncryptedTextField(blank=True, null=True, help_text="HMAC key for webhook signatures.")
    enabled = models.BooleanField(default=True)
    last_error = models.CharField(max_length=300, blank=True)
    # Outgoing event webhooks: a (shared) webhook channel subscribed to these event types
    # also receives them (alerts.events); empty = pages only.
    event_types = models.JSONField(default=list, blank=True, validators=[validate_event_types])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class Notification(models.Model):
    """Outbox row: one message for one alert, page generation, escalation step, channel and
    purpose (a page, a re-page when an acknowledgement's ETA passed, or "resolved"), or (alert
    empty) one outgoing event for one subscribed channel (`event_key`).

    The unique constraints make a step (or an event) that runs twice create nothing new;
    `sent_at IS NULL` (status pending) is the work queue, claimed with a conditional UPDATE
    on `claimed_until`."""

    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event_type = models.CharField(max_length=20, blank=True)
    event_key = models.CharField(max_length=60, blank=True)  # "status_event:123"
    payload = models.JSONField(null=True, blank=True)
    generation = models.PositiveIntegerField()
    step = models.PositiveIntegerField()
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purpose = models.CharField(
        max_length=12, choices=NotificationPurpose, default=NotificationPurpose.PAGE
    )
    status = models.CharField(
        max_length=10, choices=NotificationStatus, default=NotificationStatus.PENDING
    )
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "generation", "step", "channel", "purpose"],
                name="alerts_notification_once_per_step_channel_purpose",
            ),
            models.UniqueConstraint(
                fields=["event_key", "channel"],
                condition=~Q(event_key=""),
                name="alerts_notification_once_per_event_channel",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True, status="pending"),
                name="alerts_outbox_pending",
            )
        ]

    def __str__(self):
        if self.event_key:
            return f"{self.event_key} -> {self.channel}"
        return f"#{self.alert_id} g{self.generation} step {self.step} -> {self.channel}"

    @property
    def idempotency_key(self) -> str:
        if self.event_key:
            return f"nyiops-{self.event_key.replace(':', '-')}-{self.channel_id}"
        key = f"nyiops-{self.alert_id}-{self.generation}-{self.step}-{self.channel_id}"
        # Pages keep their historical key so a receiver's de-duplication is unchanged.
        return key if self.purpose == NotificationPurpose.PAGE else f"{key}-{self.purpose}"


class DeliveryAttempt(models.Model):
    """Delivery log: one row per attempt to send a notification (append-only)."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_log"
    )
    at = models.DateTimeField()
    attempt = models.PositiveSmallIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.notification} attempt {self.attempt}: {'ok' if self.ok else self.error}"


class EventCursor(models.Model):
    """How far the outgoing-event publisher has read one append-only source (the last pk
    published), so each event is published once, in order, even across restarts."""

    source = models.CharField(max_length=20, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.source} @ {self.last_id}"
