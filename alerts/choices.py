"""The alerts app's vocabularies; severity is the hosts one (one word from finding to page)."""

from django.db import models

from hosts.models import Severity  # one severity vocabulary from finding to page

__all__ = [
    "EVENT_TYPES",
    "PAGE_ROOT_KINDS",
    "AlertState",
    "ChannelKind",
    "EventKind",
    "NotificationPurpose",
    "NotificationStatus",
    "Severity",
    "TargetType",
]


class AlertState(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


STATE_BADGE = {
    AlertState.FIRING: "critical",
    AlertState.ACKNOWLEDGED: "warning",
    AlertState.RESOLVED: "ok",
}


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    UPDATED = "updated", "Updated"
    WORSENED = "worsened", "Got worse"
    UNACKNOWLEDGED = "unacknowledged", "Un-acknowledged"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    NOTIFIED = "notified", "Notification sent"
    NOTIFY_FAILED = "notify_failed", "Notification failed"
    GROUPED = "grouped", "Grouped under a root cause"
    UNGROUPED = "ungrouped", "Root cause cleared"
    SUPPRESSED = "suppressed", "Suppressed by maintenance"
    UNSUPPRESSED = "unsuppressed", "Maintenance ended"
    REARMED = "rearmed", "Escalation re-armed"
    HELD = "held", "Held before the first page"
    ACK_EXPIRED = "ack_expired", "Acknowledgement ETA passed"
    RESOLVED = "resolved", "Resolved"


# Outgoing event webhooks: what a subscribed channel may receive (alerts.events).
EVENT_TYPES = ("status_event", "finding", "alert", "operation")


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled (acknowledged, resolved or grouped)"


class NotificationPurpose(models.TextChoices):
    """Why a notification is sent: each is an outbox row of its own."""

    PAGE = "page", "Page (escalation step)"
    ACK_EXPIRED = "ack_expired", "Re-page: the acknowledgement's ETA passed"
    RESOLVED = "resolved", "Resolved (to whoever was paged)"


class TargetType(models.TextChoices):
    """Whom an escalation step notifies."""

    ONCALL = "oncall", "Who is on call in a schedule (level 0 = primary, 1 = secondary)"
    USER = "user", "A user"
    GROUP = "group", "Every member of a group (the team)"
    CHANNEL = "channel", "A shared channel (e.g. a team webhook)"


# Findings that explain the other findings of their host (and of the clusters it is in).
PAGE_ROOT_KINDS = ("host_unreachable", "host_key_changed")
