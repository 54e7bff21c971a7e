"""Where notifications go (channels), the outbox of notifications, and the delivery log."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.choices import ChannelKind, NotificationPurpose, NotificationStatus
from alerts.models.alerts import Alert
from nyiops.crypto import EncryptedTextField


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

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class Notification(models.Model):
    """Outbox row: one message for one alert, page generation, escalation step, channel and
    purpose (a page, a re-page when an acknowledgement's ETA passed, or "resolved").

    The unique constraint makes a step that runs twice create nothing new; `sent_at IS NULL`
    (status pending) is the work queue, claimed with a conditional UPDATE on `claimed_until`."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
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
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True, status="pending"),
                name="alerts_outbox_pending",
            )
        ]

    def __str__(self):
        return f"#{self.alert_id} g{self.generation} step {self.step} -> {self.channel}"

    @property
    def idempotency_key(self) -> str:
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
