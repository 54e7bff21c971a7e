"""The alerts app's models, one module per concern; import them from here."""

from alerts.models.alerts import Alert, AlertEvent, new_token
from alerts.models.links import AckLink
from alerts.models.maintenance import Expectation, Heartbeat, MaintenanceWindow
from alerts.models.notify import DeliveryAttempt, EventCursor, Notification, NotificationChannel
from alerts.models.schedules import (
    EscalationPolicy,
    EscalationStep,
    OnCallSchedule,
    RoutingRule,
    ScheduleMember,
    ScheduleOverride,
)

__all__ = [
    "AckLink",
    "Alert",
    "AlertEvent",
    "DeliveryAttempt",
    "EscalationPolicy",
    "EscalationStep",
    "EventCursor",
    "Expectation",
    "Heartbeat",
    "MaintenanceWindow",
    "Notification",
    "NotificationChannel",
    "OnCallSchedule",
    "RoutingRule",
    "ScheduleMember",
    "ScheduleOverride",
    "new_token",
]
