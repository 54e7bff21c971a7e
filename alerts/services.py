"""Alert services: findings -> alerts (sync_alerts), and what people do to alerts.

Every write runs in a transaction, writes the alert's timeline and an audit row when a
person acted, and enqueues tasks only on commit (through alerts.dispatch)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts import escalation, grouping, maintenance, paging, routing, timeline
from alerts.choices import AlertState, EventKind
from alerts.models import Alert, new_token
from audit.services import record
from hosts.models import Finding


class AlertStateError(Exception):
    """The alert is not in a state that allows this (e.g. acknowledging a resolved alert)."""


@dataclass
class SyncResult:
    opened: list[int] = field(default_factory=list)
    updated: int = 0
    worsened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)

    def __str__(self):
        return (
            f"{len(self.opened)} opened, {self.updated} updated, "
            f"{len(self.worsened)} worse, {len(self.resolved)} resolved"
        )


def _customer_id(finding: Finding) -> int | None:
    if finding.host_id and finding.host.customer_id:
        return finding.host.customer_id
    if finding.cluster_id:
        return finding.cluster.customer_id
    # Findings from outside (Alertmanager) may name their tenant without a host or cluster.
    return (finding.details or {}).get("customer_id")


def _open_alert(finding: Finding, now, windows_exist: bool) -> tuple[Alert, bool]:
    alert = Alert(
        dedup_key=finding.dedup_key,
        scope=finding.scope,
        kind=finding.kind,
        severity=finding.severity,
        subject=finding.subject,
        message=finding.message,
        details=finding.details,
        magnitude=escalation.magnitude(finding.details),
        host_id=finding.host_id,
        cluster_id=finding.cluster_id,
        customer_id=_customer_id(finding),
        opened_at=now,
        last_seen_at=now,
    )
    window = maintenance.covering_window(alert, now) if windows_exist else None
    operation = (finding.details or {}).get("operation")
    expectation = maintenance.covering_expectation(alert, now) if window is None else None
    if window is not None:
        alert.expected, alert.suppressed = True, True
        alert.expected_reason = f"maintenance window '{window.reason}' on {window.target_label}"
    elif expectation is not None:
        alert.expected, alert.suppressed = True, True
        alert.expected_reason = f"{expectation.owner} ({expectation.reason})"[:200]
    elif operation:
        alert.expected, alert.expected_reason = True, f"operation {operation}"
    policy = routing.choose_policy(alert)
    if policy is not None:
        alert.policy, alert.policy_snapshot = policy, routing.snapshot(policy)
    try:
        # The savepoint keeps the outer transaction usable when another worker won the race.
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return Alert.objects.open().get(dedup_key=finding.dedup_key), False
    text = f"opened: {alert.subject}: {alert.message}"
    if alert.expected:
        text += f" (expected: {alert.expected_reason})"
    timeline.log(alert, EventKind.OPENED, text, at=now, data={"finding": finding.details})
    if window is not None:
        paging.suppress(alert, window, now)
    elif expectation is not None:
        paging.suppress_expected(alert, expectation, now)
    elif policy is None:
        timeline.log(
            alert, EventKind.ESCALATED, "no escalation policy matches: nobody paged", at=now
        )
    return alert, True


def _refresh_alert(alert: Alert, finding: Finding, now, result: SyncResult) -> None:
    new_magnitude = escalation.magnitude(finding.details)
    worse = []
    if finding.severity_rank > alert.severity_rank:
        worse.append(f"severity {alert.severity} -> {finding.severity}")
    if new_magnitude > alert.magnitude:
        worse.append(f"affected {alert.magnitude} -> {new_magnitude}")
    changed = (alert.severity, alert.message, alert.details) != (
        finding.severity,
        finding.message,
        finding.details,
    )
    alert.severity, alert.message, alert.details = (
        finding.severity,
        finding.message,
        finding.details,
    )
    alert.subject, alert.magnitude, alert.last_seen_at = finding.subject, new_magnitude, now
    alert.save(
        update_fields=["severity", "message", "details", "subject", "magnitude", "last_seen_at"]
    )
    result.updated += 1
    if not worse:
        if changed:
            timeline.log(alert, EventKind.UPDATED, f"now: {alert.message}", at=now)
        return
    result.worsened.append(alert.pk)
    timeline.log(alert, EventKind.WORSENED, "got worse: " + "; ".join(worse), at=now)
    if alert.state == AlertState.ACKNOWLEDGED:
        # An acknowledgement covered the problem as it was; a worse one pages again.
        unacked = Alert.objects.filter(pk=alert.pk, state=AlertState.ACKNOWLEDGED).update(
            state=AlertState.FIRING, acknowledged_at=None, acknowledged_by=None
        )
        if unacked:
            alert.state, alert.acknowledged_at, alert.acknowledged_by = (
                AlertState.FIRING,
                None,
                None,
            )
            timeline.log(alert, EventKind.UNACKNOWLEDGED, "un-acknowledged: it got worse", at=now)
            paging.arm(alert, now, reason="paging again from the first step")


def _auto_resolve(alert: Alert, now, result: SyncResult) -> None:
    done = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
        state=AlertState.RESOLVED, resolved_at=now, next_step_at=None, escalation_token=new_token()
    )
    if done:
        alert.state, alert.resolved_at = AlertState.RESOLVED, now
        paging.disarm(alert, reason="resolved")
        timeline.log(alert, EventKind.RESOLVED, "resolved automatically: condition cleared", at=now)
        paging.notify_resolved(alert, now)
        result.resolved.append(alert.pk)


# pg_advisory_xact_lock key: "nyiops alerts topology" (any constant; one per purpose).
TOPOLOGY_LOCK = 0x6E79_616C_6572_7401


def _serialize_topology_changes() -> None:
    """Hold the alerts' topology lock until this transaction ends (PostgreSQL).

    A sync updates the alerts of its scopes, then regroups every open alert related to them
    by host or cluster: two syncs of a pair's members (both polled in a failover) touch the
    same rows in different orders and deadlock, and the loser's alerts wait for the 30 s
    sweeper. Syncs run only when findings changed and take milliseconds, so they queue
    instead. SQLite serialises writers already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TOPOLOGY_LOCK])


def sync_alerts(scopes: list[str], *, now=None) -> SyncResult:
    """Make the open alerts of `scopes` match the current findings of those scopes.

    1. A finding with no open alert opens one (IntegrityError: another worker did; use it).
    2. A finding with an open alert updates it; if it got worse and was acknowledged, it is
       un-acknowledged and escalation restarts.
    3. An open alert whose finding is gone resolves automatically.
    4. Grouping is recomputed around the hosts and clusters involved; roots escalate,
       children stop (a child whose root cleared starts paging on its own).
    """
    now = now or timezone.now()
    scopes = sorted(set(scopes))
    result = SyncResult()
    with transaction.atomic():
        _serialize_topology_changes()
        findings = {
            f.dedup_key: f
            for f in Finding.objects.filter(scope__in=scopes).select_related("host", "cluster")
        }
        open_alerts = {
            a.dedup_key: a
            for a in Alert.objects.open().filter(
                Q(scope__in=scopes) | Q(dedup_key__in=list(findings))
            )
        }
        windows_exist = maintenance.any_active(now)
        hosts, clusters = set(), set()
        for key, finding in findings.items():
            alert = open_alerts.get(key)
            if alert is None:
                alert, created = _open_alert(finding, now, windows_exist)
                if created:
                    result.opened.append(alert.pk)
                    open_alerts[key] = alert
                    hosts.add(alert.host_id), clusters.add(alert.cluster_id)
                    continue
            _refresh_alert(alert, finding, now, result)
            hosts.add(alert.host_id), clusters.add(alert.cluster_id)
        gone = [a for k, a in open_alerts.items() if k not in findings]
        still_elsewhere = set(
            Finding.objects.filter(dedup_key__in=[a.dedup_key for a in gone]).values_list(
                "dedup_key", flat=True
            )
        )
        for alert in gone:
            if alert.dedup_key not in still_elsewhere:
                _auto_resolve(alert, now, result)
                hosts.add(alert.host_id), clusters.add(alert.cluster_id)
        regroup(hosts - {None}, clusters - {None}, now, opened=set(result.opened))
        # A finding with neither host nor cluster (from Alertmanager) has no topology to be
        # grouped in, so regroup never sees it: it pages on its own.
        for alert in open_alerts.values():
            detached = alert.host_id is None and alert.cluster_id is None
            if detached and alert.pk in result.opened and alert.pageable:
                paging.arm(alert, now, reason="")
    return result


def regroup(host_ids: set[int], cluster_ids: set[int], now, *, opened: set[int] = frozenset()):
    """Apply root-cause grouping around these hosts/clusters; arm what should page."""
    _serialize_topology_changes()
    alerts, topo = grouping.related_open_alerts(host_ids, cluster_ids)
    parents = grouping.desired_parents(grouping.nodes_of(alerts), topo)
    for alert in alerts:
        want = parents[alert.pk]
        if want != alert.parent_id:
            previous = alert.parent_id
            alert.parent_id = want
            alert.save(update_fields=["parent"])
            if want is not None:
                paging.disarm(alert, reason=f"grouped under #{want}")
                timeline.log(
                    alert,
                    EventKind.GROUPED,
                    f"explained by alert #{want}: not paging on its own",
                    at=now,
                    data={"parent": want},
                )
            else:
                timeline.log(
                    alert,
                    EventKind.UNGROUPED,
                    f"root cause #{previous} no longer explains it",
                    at=now,
                )
                paging.arm(alert, now, reason="paging on its own")
        elif alert.pk in opened and alert.pageable and alert.next_step_at is None:
            paging.arm(alert, now, reason="")


def acknowledge_alert(
    alert: Alert, *, by, note: str = "", eta_minutes: int | None = None, via: str = "web", now=None
) -> Alert:
    """Firing -> acknowledged: escalation stops and unsent notifications are cancelled."""
    now = now or timezone.now()
    eta = now + timedelta(minutes=eta_minutes) if eta_minutes else None
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, state=AlertState.FIRING).update(
            state=AlertState.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=by,
            ack_note=note[:500],
            ack_eta=eta,
        )
        if not done:
            raise AlertStateError(f"alert #{alert.pk} is not firing")
        alert.refresh_from_db()
        cancelled = paging.disarm(alert, reason="acknowledged")
        text = f"acknowledged by {by.get_username()} via {via}"
        text += f" (ETA {eta:%H:%M} UTC)" if eta else ""
        text += f": {note}" if note else ""
        timeline.log(
            alert,
            EventKind.ACKNOWLEDGED,
            text,
            at=now,
            actor=by,
            data={
                "note": note,
                "eta": eta.isoformat() if eta else None,
                "via": via,
                "cancelled_notifications": cancelled,
            },
        )
        record(
            actor=by,
            action="alerts.acknowledge",
            target=alert,
            before={"state": AlertState.FIRING},
            after={"state": AlertState.ACKNOWLEDGED, "note": note, "via": via},
            message=text,
        )
    return alert


def resolve_alert(alert: Alert, *, by, note: str = "", now=None) -> Alert:
    """Resolve by hand. If the finding still holds, the next sync opens a new alert."""
    now = now or timezone.now()
    with transaction.atomic():
        before = alert.state
        done = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
            state=AlertState.RESOLVED, resolved_at=now, resolved_by=by, resolve_note=note[:500]
        )
        if not done:
            raise AlertStateError(f"alert #{alert.pk} is already resolved")
        alert.refresh_from_db()
        paging.disarm(alert, reason="resolved")
        text = f"resolved by {by.get_username()}" + (f": {note}" if note else "")
        timeline.log(alert, EventKind.RESOLVED, text, at=now, actor=by, data={"note": note})
        paging.notify_resolved(alert, now, resolver=by)
        record(
            actor=by,
            action="alerts.resolve",
            target=alert,
            before={"state": before},
            after={"state": AlertState.RESOLVED, "note": note},
            message=text,
        )
        if alert.parent_id is None:
            regroup({alert.host_id} - {None}, {alert.cluster_id} - {None}, now)
    return alert


def bulk_acknowledge(alert_ids, *, by, note: str = "", now=None) -> list[int]:
    """Acknowledge every firing alert among `alert_ids`; returns the ones acknowledged."""
    done = []
    for alert in Alert.objects.filter(pk__in=alert_ids, state=AlertState.FIRING):
        try:
            acknowledge_alert(alert, by=by, note=note, via="bulk", now=now)
        except AlertStateError:
            continue  # acknowledged or resolved meanwhile: nothing left to do for it
        done.append(alert.pk)
    return done
