from alerts.models.alerts import Alert, AlertEvent, new_token
from alerts.models.maintenance import Heartbeat, MaintenanceWindow
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
    "Alert",
    "AlertEvent",
    "DeliveryAttempt",
    "EscalationPolicy",
    "EscalationStep",
    "EventCursor",
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
