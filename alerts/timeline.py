"""The alert timeline: one appended AlertEvent per thing that happened to an alert."""

from alerts.models import Alert, AlertEvent


def log(alert: Alert, kind: str, text: str, *, at, actor=None, data: dict | None = None):
    """Append one line to the alert's timeline (inside the caller's transaction)."""
    return AlertEvent.objects.create(
        alert=alert, at=at, kind=kind, text=text, actor=actor, data=data or {}
    )
