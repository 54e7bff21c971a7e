"""What a page says: the same facts for email text and webhook JSON."""

from alerts import escalation, links
from alerts.channels import Message
from alerts.choices import NotificationPurpose
from alerts.models import Alert, Notification

FAILOVER_KINDS = ("preferred_master_is_backup",)
CHILDREN_LISTED = 10


def headline(alert: Alert) -> str:
    """ "<subject>: <message>", unless the health rule already named the subject first."""
    first_word = alert.subject.split(" ", 1)[0]
    if alert.message.startswith((f"{alert.subject}:", f"{first_word}:", f"{first_word} ")):
        return alert.message
    return f"{alert.subject}: {alert.message}"


def expectation(alert: Alert) -> str:
    """Whether a failover was expected; empty for other kinds."""
    if alert.kind not in FAILOVER_KINDS:
        return ""
    if alert.expected:
        return f"Expected: {alert.expected_reason}."
    return "Unexpected: no operation or maintenance window explains it."


def build(notification: Notification) -> Message:
    if notification.purpose == NotificationPurpose.RESOLVED:
        return build_resolved(notification)
    alert = notification.alert
    children = list(alert.children.open().order_by("opened_at")[: CHILDREN_LISTED + 1])
    # A fresh single-use link per message, for the person paged; the webhook payload below
    # does not carry it (alerts.links).
    ack_url = (
        links.ack_url(alert.pk, notification.recipient_id) if notification.recipient_id else ""
    )
    step = (
        escalation.describe(alert.policy_snapshot, notification.step)
        if alert.policy_snapshot
        else ""
    )
    repage = notification.purpose == NotificationPurpose.ACK_EXPIRED
    lines = [headline(alert)]
    if repage:
        lines.append("Your acknowledgement's ETA passed and the alert is still open.")
    if expectation(alert):
        lines.append(expectation(alert))
    lines += [
        "",
        f"Severity: {alert.severity}   Alert #{alert.pk}   "
        f"Opened: {alert.opened_at:%Y-%m-%d %H:%M:%S} UTC",
        f"Escalation: {step}" if step else "",
    ]
    if children:
        lines += ["", f"Also explains {alert.children.open().count()} other alert(s):"]
        lines += [
            f"  - {headline(c)}" + (f" ({expectation(c)})" if expectation(c) else "")
            for c in children[:CHILDREN_LISTED]
        ]
    if ack_url:
        lines += ["", f"Acknowledge (one click, valid 24 h, once): {ack_url}"]
    lines += [f"Details: {links.alert_url(alert.pk)}"]
    payload = {
        "event": "alert.ack_expired" if repage else "alert.page",
        "alert": {
            "id": alert.pk,
            "dedup_key": alert.dedup_key,
            "kind": alert.kind,
            "severity": alert.severity,
            "state": alert.state,
            "subject": alert.subject,
            "message": alert.message,
            "details": alert.details,
            "expected": alert.expected,
            "expected_reason": alert.expected_reason,
            "opened_at": alert.opened_at.isoformat(),
            "children": [{"id": c.pk, "kind": c.kind, "subject": c.subject} for c in children],
        },
        "step": notification.step,
        "generation": notification.generation,
        "url": links.alert_url(alert.pk),
    }
    prefix = "ETA passed: " if repage else ""
    return Message(
        subject=f"[nyiops {alert.severity.upper()}] #{alert.pk} {prefix}{headline(alert)}"[:200],
        text="\n".join(line for line in lines if line is not None),
        payload=payload,
        idempotency_key=notification.idempotency_key,
    )


def build_resolved(notification: Notification) -> Message:
    """The all-clear for someone who was paged: no acknowledge link, nothing left to do."""
    alert = notification.alert
    how = f"by {alert.resolved_by.get_username()}" if alert.resolved_by_id else "automatically"
    lines = [
        f"RESOLVED: {headline(alert)}",
        "",
        f"Resolved {how} at {alert.resolved_at:%Y-%m-%d %H:%M:%S} UTC "
        f"(opened {alert.opened_at:%H:%M:%S} UTC).",
    ]
    if alert.resolve_note:
        lines.append(f"Note: {alert.resolve_note}")
    lines += [f"Details: {links.alert_url(alert.pk)}"]
    payload = {
        "event": "alert.resolved",
        "alert": {
            "id": alert.pk,
            "dedup_key": alert.dedup_key,
            "kind": alert.kind,
            "severity": alert.severity,
            "state": alert.state,
            "subject": alert.subject,
            "message": alert.message,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat(),
            "resolved_by": alert.resolved_by.get_username() if alert.resolved_by_id else None,
        },
        "generation": notification.generation,
        "url": links.alert_url(alert.pk),
    }
    return Message(
        subject=f"[nyiops RESOLVED] #{alert.pk} {headline(alert)}"[:200],
        text="\n".join(lines),
        payload=payload,
        idempotency_key=notification.idempotency_key,
    )


def build_event(notification: Notification) -> Message:
    """An outgoing event (alerts.events): the stored payload, with its delivery id."""
    payload = {
        **(notification.payload or {}),
        "delivery": notification.idempotency_key,
        "queued_at": notification.created_at.isoformat(),
    }
    return Message(
        subject=f"[nyiops event] {notification.event_key}",
        text=notification.event_key,
        payload=payload,
        idempotency_key=notification.idempotency_key,
    )
