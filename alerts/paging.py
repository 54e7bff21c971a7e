"""Escalation and delivery: the worker-side services behind the alert tasks.

Invariants:
- An escalation step runs only with the alert's current token and step index, claimed with a
  conditional UPDATE, so a duplicate or stale delivery does nothing.
- A step's notifications are outbox rows, unique per (alert, generation, step, channel): a
  step that runs twice creates nothing new.
- A notification is sent only after a conditional UPDATE claims it (a lease), and never for
  an alert that is no longer pageable (acknowledged, resolved, grouped, in maintenance),
  except a "resolved" notification, which is the news that it is no longer pageable.
- The first page of a new alert is held a few seconds (per kind, settings), so a finding
  that clears on the next poll pages nobody; later generations (worse, ungrouped, ETA
  passed) are not held.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from alerts import dispatch, escalation, maintenance, messages, routing, timeline
from alerts.channels import TRANSPORTS, TransportError
from alerts.choices import EventKind, NotificationPurpose, NotificationStatus
from alerts.models import Alert, DeliveryAttempt, Notification, NotificationChannel, new_token
from nyiops.metrics import observe_delivery

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60  # longer than send_notification's hard time limit
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
# A step due within this is sent as a countdown message (well below the broker's visibility
# timeout); a later one is left to the 15 s sweeper, which finds it by its due time.
SHORT_WAIT = timedelta(seconds=60)
# Purposes that page someone: cancelled when the alert stops being pageable.
PAGING = (NotificationPurpose.PAGE, NotificationPurpose.ACK_EXPIRED)


def hold_for(kind: str) -> timedelta:
    seconds = settings.NYIOPS_ALERT_HOLD_BY_KIND.get(kind, settings.NYIOPS_ALERT_HOLD_SECONDS)
    return timedelta(seconds=max(0.0, seconds))


def backoff(attempt: int) -> int:
    return min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)


def arm(alert: Alert, now, *, reason: str, not_before=None) -> bool:
    """(Re)start escalation at step 0 with a new page generation; False when not pageable.

    The first generation waits the kind's hold; `not_before` delays step 0 further."""
    if not alert.pageable or escalation.total_steps(alert.policy_snapshot) == 0:
        return False
    first = alert.page_generation == 0
    alert.page_generation += 1
    alert.escalation_step = 0
    alert.escalation_token = new_token()
    alert.escalation_rearms = 0
    alert.next_step_at = escalation.due_at(alert.policy_snapshot, 0, now)
    hold = hold_for(alert.kind) if first else timedelta(0)
    if hold:
        alert.next_step_at += hold
    if not_before is not None and alert.next_step_at < not_before:
        alert.next_step_at = not_before
    alert.save(
        update_fields=[
            "page_generation",
            "escalation_step",
            "escalation_token",
            "escalation_rearms",
            "next_step_at",
        ]
    )
    if reason:
        timeline.log(alert, EventKind.ESCALATED, reason, at=now)
    if hold:
        timeline.log(
            alert,
            EventKind.HELD,
            f"holding the first page {hold.total_seconds():g} s: "
            "a finding that clears by then pages nobody",
            at=now,
        )
    wait = alert.next_step_at - now
    if wait <= timedelta(0):
        dispatch.escalate_soon(alert.pk, alert.escalation_token)
    elif wait <= SHORT_WAIT:
        # A little past the due time, so the task never finds the step "not due".
        countdown = wait.total_seconds() + 0.05
        dispatch.escalate_soon(alert.pk, alert.escalation_token, countdown=countdown)
    return True


def disarm(alert: Alert, *, reason: str) -> int:
    """Stop escalating and cancel what has not been sent yet; returns notifications cancelled."""
    alert.next_step_at = None
    alert.escalation_token = new_token()
    alert.save(update_fields=["next_step_at", "escalation_token"])
    return Notification.objects.filter(
        alert=alert, status=NotificationStatus.PENDING, purpose__in=PAGING
    ).update(status=NotificationStatus.CANCELLED, last_error=reason[:300], claimed_until=None)


def suppress(alert: Alert, window, now) -> None:
    alert.suppressed = True
    alert.save(update_fields=["suppressed"])
    disarm(alert, reason="maintenance window")
    timeline.log(
        alert,
        EventKind.SUPPRESSED,
        f"in maintenance window '{window.reason}' on {window.target_label} until "
        f"{window.ends_at:%Y-%m-%d %H:%M} UTC: recorded, not paging",
        at=now,
        data={"window_id": window.pk},
    )


def suppress_expected(alert: Alert, expectation, now) -> None:
    alert.save(update_fields=["suppressed"])
    disarm(alert, reason="expected")
    timeline.log(
        alert,
        EventKind.SUPPRESSED,
        f"expected, {expectation.owner} ({expectation.reason}): recorded, not paging until "
        f"{expectation.ends_at:%Y-%m-%d %H:%M:%S} UTC",
        at=now,
    )


def _rate_capped(alert: Alert, now) -> bool:
    snap = alert.policy_snapshot
    cap = snap.get("max_pages_per_hour") if snap else None
    if not cap:
        return False
    pages = (
        Notification.objects.filter(
            alert__policy_id=snap["policy_id"],
            created_at__gte=now - timedelta(hours=1),
            purpose=NotificationPurpose.PAGE,
        )
        .values("alert_id", "generation", "step")
        .distinct()
        .count()
    )
    return pages >= cap


def run_escalation_step(alert_id: int, token: str, *, now) -> str:
    """Run the alert's due escalation step once: notify its targets, schedule the next."""
    with transaction.atomic():
        alert = Alert.objects.filter(pk=alert_id).first()
        if alert is None or alert.escalation_token != token:
            return "stale token: superseded or already run"
        if alert.next_step_at is None or alert.next_step_at > now:
            return "not due"
        if not alert.pageable:
            disarm(alert, reason="alert not pageable")
            return "alert not pageable"
        window = maintenance.covering_window(alert, now)
        if window is not None:
            suppress(alert, window, now)
            return "suppressed by maintenance"
        snap, index = alert.policy_snapshot, alert.escalation_step
        claimed = Alert.objects.filter(
            pk=alert.pk, escalation_token=token, escalation_step=index
        ).update(
            escalation_token=new_token(),
            escalation_step=index + 1,
            next_step_at=escalation.due_at(snap, index + 1, now),
        )
        if claimed != 1:
            return "claimed by another worker"
        where = escalation.describe(snap, index)
        if _rate_capped(alert, now):
            timeline.log(
                alert,
                EventKind.ESCALATED,
                f"{where}: not paged, policy rate cap of {snap['max_pages_per_hour']} "
                "pages an hour reached",
                at=now,
            )
            return "rate capped"
        users, channels, why_nobody = routing.recipients(
            escalation.step_spec(snap, index)["target"], now
        )
        created = []
        for channel in channels:
            notification, was_created = Notification.objects.get_or_create(
                alert=alert,
                generation=alert.page_generation,
                step=index,
                channel=channel,
                purpose=NotificationPurpose.PAGE,
                defaults={"recipient": channel.user, "created_at": now, "next_attempt_at": now},
            )
            if was_created:
                created.append(notification)
        names = ", ".join(f"{c.user or c.name} ({c.kind})" for c in channels)
        timeline.log(
            alert,
            EventKind.ESCALATED,
            f"{where}: notifying {names}"
            if channels
            else f"{where}: nobody notified, {why_nobody}",
            at=now,
            data={"step": index, "users": [u.pk for u in users]},
        )
        for notification in created:
            dispatch.send_soon(notification.pk)
    return f"{where}: {len(created)} notification(s)"


def deliver_notification(notification_id: int, *, now) -> str:
    """Claim one pending notification and send it; retries with backoff on transient errors."""
    claimed = (
        Notification.objects.filter(
            pk=notification_id, status=NotificationStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "not due, finished or claimed by another worker"
    n = Notification.objects.select_related("alert", "channel", "recipient").get(pk=notification_id)
    if n.alert_id is not None and n.purpose in PAGING and not n.alert.pageable:
        Notification.objects.filter(pk=n.pk).update(
            status=NotificationStatus.CANCELLED, claimed_until=None, last_error="not pageable"
        )
        return "cancelled: alert no longer pageable"
    message = messages.build(n) if n.alert_id is not None else messages.build_event(n)
    started = time.monotonic()
    try:
        status_code = TRANSPORTS[n.channel.kind](n.channel, message)
        error = None
    except TransportError as exc:
        status_code, error = exc.status_code, exc
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record_attempt(n, now, status_code, error, duration_ms)


def _record_attempt(n: Notification, now, status_code, error, duration_ms) -> str:
    first_page = n.alert_id is not None and n.alert.last_notified_at is None
    observe_delivery(n.channel.kind, error is None, (now - n.alert.opened_at).total_seconds() if first_page else None)  # fmt: skip  # noqa: E501
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            notification=n,
            at=now,
            attempt=n.attempts,
            ok=error is None,
            status_code=status_code,
            error=error.message[:300] if error else "",
            duration_ms=duration_ms,
        )
        who = f"{n.recipient or n.channel.name} via {n.channel.kind}"
        if error is None:
            Notification.objects.filter(pk=n.pk).update(
                status=NotificationStatus.SENT, sent_at=now, claimed_until=None, last_error=""
            )
            if n.alert_id is not None:  # an outgoing event has no alert timeline
                Alert.objects.filter(pk=n.alert_id).update(last_notified_at=now)
                what = {
                    NotificationPurpose.RESOLVED: "sent the resolution to",
                    NotificationPurpose.ACK_EXPIRED: "re-paged (ETA passed)",
                }.get(n.purpose, "notified")
                timeline.log(n.alert, EventKind.NOTIFIED, f"{what} {who}", at=now)
            return f"sent to {who}"
        if error.permanent or n.attempts >= MAX_ATTEMPTS:
            Notification.objects.filter(pk=n.pk).update(
                status=NotificationStatus.FAILED, claimed_until=None, last_error=error.message[:300]
            )
            n.channel.last_error = error.message[:300]
            n.channel.save(update_fields=["last_error"])
            if n.alert_id is not None:
                timeline.log(
                    n.alert,
                    EventKind.NOTIFY_FAILED,
                    f"could not notify {who} after {n.attempts} attempt(s): {error.message}",
                    at=now,
                )
            return f"failed: {error.message}"
        delay = backoff(n.attempts)
        Notification.objects.filter(pk=n.pk).update(
            claimed_until=None,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=error.message[:300],
        )
        dispatch.send_soon(n.pk, countdown=delay)
        return f"attempt {n.attempts} failed ({error.message}); retry in {delay} s"


def _notify_channels(alert: Alert, channels, purpose: str, now) -> list[Notification]:
    """One outbox row per channel for `purpose` in the alert's current generation; sent after
    commit. Idempotent: the unique constraint makes a second call create nothing."""
    created = []
    for channel in channels:
        notification, was_created = Notification.objects.get_or_create(
            alert=alert,
            generation=alert.page_generation,
            step=0,
            channel=channel,
            purpose=purpose,
            defaults={"recipient": channel.user, "created_at": now, "next_attempt_at": now},
        )
        if was_created:
            created.append(notification)
            dispatch.send_soon(notification.pk)
    return created


def notify_resolved(alert: Alert, now, *, resolver=None) -> int:
    """Tell whoever was paged for this alert (a page or a re-page that was sent) that it is
    resolved; the person who resolved it by hand already knows."""
    paged = (
        Notification.objects.filter(alert=alert, status=NotificationStatus.SENT, purpose__in=PAGING)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    channels = NotificationChannel.objects.filter(pk__in=list(paged), enabled=True)
    if resolver is not None:
        channels = channels.exclude(user=resolver)
    created = _notify_channels(
        alert, channels.select_related("user"), NotificationPurpose.RESOLVED, now
    )
    return len(created)


def repage_acknowledger(alert: Alert, user, now) -> int:
    """Page the person whose acknowledgement ETA passed, on each of their enabled channels."""
    channels = NotificationChannel.objects.filter(user=user, enabled=True).select_related("user")
    return len(_notify_channels(alert, channels, NotificationPurpose.ACK_EXPIRED, now))
