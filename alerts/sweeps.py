"""What the beat sweepers do: nothing here waits; each run claims what is due and returns.

Sweeps repair lost messages: a due escalation step or a pending notification whose task
message vanished (broker restart, worker killed) is found here by its due time."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from alerts import dispatch, maintenance, paging, services, timeline
from alerts.choices import AlertState, EventKind, NotificationStatus
from alerts.models import Alert, Heartbeat, Notification, new_token
from hosts.models import Finding

log = logging.getLogger(__name__)

BATCH = 500
OUTBOX_GRACE = timedelta(seconds=10)  # give the on-commit task a head start
OVERDUE = timedelta(minutes=5)
MAX_REARMS = 3
AUDITOR = "alerts.audit_escalations"


def sync_all(now) -> services.SyncResult:
    """Every scope with a finding or an open alert, then grouping around orphaned children."""
    scopes = set(Finding.objects.values_list("scope", flat=True).distinct())
    scopes |= set(Alert.objects.open().values_list("scope", flat=True).distinct())
    result = services.sync_alerts(sorted(scopes), now=now)
    orphans = Alert.objects.open().filter(parent__resolved_at__isnull=False)
    hosts = {h for h in orphans.values_list("host_id", flat=True) if h}
    clusters = {c for c in orphans.values_list("cluster_id", flat=True) if c}
    if hosts or clusters:
        with transaction.atomic():
            services.regroup(hosts, clusters, now)
    return result


def escalate_due(now) -> int:
    """Run every escalation step that is due (each claims its alert by token)."""
    due = Alert.objects.filter(next_step_at__lte=now, state=AlertState.FIRING).values_list(
        "pk", "escalation_token"
    )[:BATCH]
    for pk, token in due:
        paging.run_escalation_step(pk, token, now=now)
    pending = Notification.objects.filter(
        status=NotificationStatus.PENDING, next_attempt_at__lte=now - OUTBOX_GRACE
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    for pk in pending.values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            dispatch.send_soon(pk)
    return len(due)


def repage_expired_acks(now) -> int:
    """An acknowledgement whose ETA passed with the alert still open: the alert fires again,
    the acknowledger is re-paged at once, and the policy escalates again after
    NYIOPS_ACK_EXPIRED_ESCALATE_AFTER_MINUTES unless somebody acknowledges meanwhile
    (PagerDuty's acknowledgement timeout). Claimed by a conditional UPDATE on the ETA read,
    so two sweepers re-page once."""
    grace = timedelta(minutes=settings.NYIOPS_ACK_EXPIRED_ESCALATE_AFTER_MINUTES)
    expired = Alert.objects.filter(
        state=AlertState.ACKNOWLEDGED, resolved_at__isnull=True, ack_eta__lte=now
    ).select_related("acknowledged_by")
    repaged = 0
    for alert in expired[:BATCH]:
        user, eta = alert.acknowledged_by, alert.ack_eta
        with transaction.atomic():
            if not Alert.objects.filter(
                pk=alert.pk, state=AlertState.ACKNOWLEDGED, ack_eta=eta
            ).update(
                state=AlertState.FIRING, acknowledged_at=None, acknowledged_by=None, ack_eta=None
            ):
                continue
            alert.refresh_from_db()
            who = user.get_username() if user else "nobody (the user is gone)"
            timeline.log(
                alert,
                EventKind.ACK_EXPIRED,
                f"acknowledgement ETA {eta:%H:%M} UTC passed with the alert still open: "
                f"re-paging {who}",
                at=now,
                data={"eta": eta.isoformat(), "user": user.pk if user else None},
            )
            if not alert.pageable:
                continue  # grouped or in maintenance: firing again, paging stays off
            paging.arm(
                alert,
                now,
                reason=f"escalation restarts at {now + grace:%H:%M} UTC unless acknowledged",
                not_before=now + grace,
            )
            if user is not None:
                paging.repage_acknowledger(alert, user, now)
            repaged += 1
    return repaged


def release_silenced(now) -> int:
    """Suppressed alerts no longer in any window page now, if they still fire."""
    released = 0
    for alert in Alert.objects.open().filter(suppressed=True)[:BATCH]:
        if maintenance.covering_window(alert, now) is not None:
            continue
        if maintenance.covering_expectation(alert, now) is not None:
            continue
        with transaction.atomic():
            if not Alert.objects.filter(pk=alert.pk, suppressed=True).update(suppressed=False):
                continue
            alert.suppressed = False
            timeline.log(
                alert, EventKind.UNSUPPRESSED, "maintenance window or expectation ended", at=now
            )
            if paging.arm(alert, now, reason="still firing after maintenance: paging"):
                released += 1
    return released


def audit_escalations(now) -> dict:
    """Find escalations that stopped moving and re-arm them, a bounded number of times.

    - overdue: a due step older than OVERDUE (the 15 s sweeper should have run it);
    - never armed: a pageable alert with a policy but no clock, opened over a minute ago;
    - stuck outbox: a pending notification due for longer than OVERDUE.
    The heartbeat is written only when none of these were found."""
    problems = {"rearmed": [], "gave_up": [], "never_armed": [], "stuck_notifications": 0}
    overdue = Alert.objects.filter(
        state=AlertState.FIRING,
        parent__isnull=True,
        suppressed=False,
        next_step_at__lt=now - OVERDUE,
    )
    for alert in overdue[:BATCH]:
        with transaction.atomic():
            if alert.escalation_rearms >= MAX_REARMS:
                problems["gave_up"].append(alert.pk)
                continue
            token = new_token()
            # Conditional on the token read: a step that ran meanwhile wins.
            if Alert.objects.filter(pk=alert.pk, escalation_token=alert.escalation_token).update(
                escalation_token=token,
                next_step_at=now,
                escalation_rearms=alert.escalation_rearms + 1,
            ):
                timeline.log(
                    alert,
                    EventKind.REARMED,
                    f"escalation overdue since {alert.next_step_at:%H:%M:%S}: "
                    "re-armed by the auditor",
                    at=now,
                )
                dispatch.escalate_soon(alert.pk, token)
                problems["rearmed"].append(alert.pk)
    never = Alert.objects.filter(
        state=AlertState.FIRING,
        parent__isnull=True,
        suppressed=False,
        next_step_at__isnull=True,
        escalation_step=0,
        policy_snapshot__isnull=False,
        opened_at__lt=now - timedelta(minutes=1),
    )
    for alert in never[:BATCH]:
        with transaction.atomic():
            if paging.arm(alert, now, reason="escalation was never started: armed by the auditor"):
                problems["never_armed"].append(alert.pk)
    stuck = Notification.objects.filter(
        status=NotificationStatus.PENDING, next_attempt_at__lt=now - OVERDUE
    )
    problems["stuck_notifications"] = stuck.count()
    clean = not any(problems.values())
    if clean:
        Heartbeat.objects.update_or_create(name=AUDITOR, defaults={"at": now, "detail": "clean"})
    else:
        log.warning("escalation auditor found problems: %s", problems)
    return problems | {"clean": clean}
