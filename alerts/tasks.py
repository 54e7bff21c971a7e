"""Alert tasks: thin wrappers that take ids, call one service and return a summary.

All are safe to run twice: escalation steps are claimed by token, notifications by a lease,
sweeps by due times. Retries: none inside the tasks; the next beat tick is the retry, and
webhook backoff is data (Notification.next_attempt_at)."""

from django.db import OperationalError
from django.utils import timezone

from alerts import events, liveness, paging, sweeps
from nyiops.tasks import Retry, nyiops_task

DB_RETRY = Retry(on=(OperationalError,), max_retries=3, backoff=2, backoff_max=30)


@nyiops_task(queue="notify", soft_time_limit=60, time_limit=90, retry=None)
def sync_all_alerts() -> str:
    return str(sweeps.sync_all(timezone.now()))


@nyiops_task(queue="notify", soft_time_limit=30, time_limit=45, retry=DB_RETRY)
def escalate_alert(alert_id: int, token: str) -> str:
    return paging.run_escalation_step(alert_id, token, now=timezone.now())


@nyiops_task(queue="notify", soft_time_limit=30, time_limit=45, retry=None)
def send_notification(notification_id: int) -> str:
    # No Celery retry: a failed attempt is rescheduled as data with backoff, so the lease
    # and the delivery log stay consistent.
    return paging.deliver_notification(notification_id, now=timezone.now())


@nyiops_task(queue="notify", soft_time_limit=60, time_limit=90, retry=None)
def escalate_due_alerts() -> str:
    return f"{sweeps.escalate_due(timezone.now())} due escalation(s)"


@nyiops_task(queue="notify", soft_time_limit=60, time_limit=90, retry=None)
def repage_expired_acks() -> str:
    return f"{sweeps.repage_expired_acks(timezone.now())} acknowledgement(s) expired"


@nyiops_task(queue="notify", soft_time_limit=60, time_limit=90, retry=None)
def release_silenced_alerts() -> str:
    return f"{sweeps.release_silenced(timezone.now())} released from maintenance"


@nyiops_task(queue="notify", soft_time_limit=60, time_limit=90, retry=None)
def audit_escalations() -> str:
    return str(sweeps.audit_escalations(timezone.now()))


@nyiops_task(queue="notify", soft_time_limit=10, time_limit=20, retry=None)
def worker_canary(queue: str) -> str:
    """Sent by beat to every queue (the route is overridden per message): completing it is
    the proof that a worker consumes that queue. Expires after one interval, so a canary
    stuck in a backlog never counts."""
    liveness.record_canary(queue, timezone.now())
    return f"canary on {queue}"


@nyiops_task(queue="notify", soft_time_limit=60, time_limit=90, retry=None)
def publish_events() -> str:
    """Queue new status events, alert timeline lines, findings and operation records for
    the webhook channels subscribed to them (the cursor makes a rerun harmless)."""
    return str(events.publish_events(now=timezone.now()))
