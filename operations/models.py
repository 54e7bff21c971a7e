"""Operations: a person's request to change hosts, its plan, steps, timeline and locks.

Owns the rows only: state, constraints and small derived properties. Running anything,
taking locks and deciding transitions is the services' job (operations/engine.py,
operations/locks.py, operations/services.py). Imports hosts and customers, never alerts'
internals; hosts and alerts never import this module."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from hosts.models import Cluster, Host
from operations.choices import (
    ACTIVE_STATES,
    STATE_TONE,
    TERMINAL_STATES,
    Awaiting,
    OpState,
    Phase,
    StepState,
)

OUTPUT_CAP = 64 * 1024  # per stream per step, as RELIABILITY §3.4 caps the audit


class Operation(models.Model):
    kind = models.CharField(max_length=40, db_index=True)
    state = models.CharField(max_length=20, choices=OpState, default=OpState.PLANNED)
    target_label = models.CharField(max_length=200)
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.PROTECT, related_name="operations"
    )
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.PROTECT, related_name="operations"
    )
    params = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    # The plan as shown before approval: a list of step specs (host, argv, why, success, undo).
    plan = models.JSONField(default=list, blank=True)
    preflight = models.JSONField(default=list, blank=True)  # [{name, ok, hard, message}]
    diff = models.TextField(blank=True)
    # Hash of the observed facts the plan was computed from: approval is void if they change.
    plan_hash = models.CharField(max_length=64, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    predicted_findings = models.JSONField(default=list, blank=True)  # dedup keys
    affected_host_ids = models.JSONField(default=list, blank=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Outbox: set when the run task was handed to the broker; the sweeper re-sends the rest.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Execution claim: who runs it (run_token) until when (lease_until); fencing_token is
    # the lock generation this run holds (RELIABILITY E2).
    run_token = models.CharField(max_length=36, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    fencing_token = models.BigIntegerField(null=True, blank=True)
    awaiting = models.CharField(max_length=10, choices=Awaiting, default="", blank=True)
    awaiting_prompt = models.CharField(max_length=300, blank=True)
    awaiting_deadline = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=20, blank=True)  # the person's answer to `awaiting`
    progress_pct = models.FloatField(null=True, blank=True)
    progress_note = models.CharField(max_length=200, blank=True)
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "dispatched_at"])]

    def __str__(self):
        return f"operation #{self.pk} {self.kind} {self.target_label}"

    @property
    def label(self) -> str:
        return f"operation #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def tone(self) -> str:
        return STATE_TONE.get(self.state, "muted")

    @property
    def hard_checks_failed(self) -> list[dict]:
        return [c for c in self.preflight if c.get("hard") and not c.get("ok")]


class OperationStep(models.Model):
    """One command on one host, written as SENDING before it leaves (RELIABILITY A3)."""

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    phase = models.CharField(max_length=10, choices=Phase, default=Phase.FORWARD)
    key = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    script = models.TextField(blank=True)
    argv = models.JSONField(default=list, blank=True)
    spec = models.JSONField(default=dict, blank=True)
    idempotent = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=StepState, default=StepState.PENDING)
    exit_status = models.IntegerField(null=True, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    verify_message = models.TextField(blank=True)
    fencing_token = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["operation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["operation", "position"], name="operation_step_once")
        ]

    def __str__(self):
        return f"{self.operation_id}.{self.position} {self.key} {self.state}"

    def audit_dict(self) -> dict:
        return {
            "position": self.position,
            "phase": self.phase,
            "key": self.key,
            "host": self.host.name if self.host_id else "",
            "argv": self.argv,
            "exit_status": self.exit_status,
            "stdout": self.stdout[:OUTPUT_CAP],
            "stderr": self.stderr[:OUTPUT_CAP],
            "duration_ms": self.duration_ms,
            "state": self.state,
            "verify": self.verify_message,
        }


class OperationEvent(models.Model):
    """The append-only timeline of an operation."""

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=30)
    message = models.TextField()
    actor_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.at:%H:%M:%S} {self.kind}: {self.message}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("operation timeline entries are append-only")
        super().save(*args, **kwargs)


class FencingTicket(models.Model):
    """A monotonically increasing sequence on every database: a new row's pk is the next
    fencing token."""

    issued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"fencing token {self.pk}"


class OperationLock(models.Model):
    """One row per lock scope ("cluster:3", "host:7"). Taken by a conditional insert or an
    UPDATE of an expired row; the token says which acquisition owns it now."""

    scope = models.CharField(max_length=40, unique=True)
    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="locks")
    token = models.BigIntegerField()
    acquired_at = models.DateTimeField()
    lease_until = models.DateTimeField()

    def __str__(self):
        return f"{self.scope} held by #{self.operation_id} until {self.lease_until:%H:%M:%S}"
