from alerts.models.alerts import Alert, AlertEvent, new_token
from alerts.models.maintenance import Expectation, Heartbeat, MaintenanceWindow
from alerts.models.notify import DeliveryAttempt, Notification, NotificationChannel
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
