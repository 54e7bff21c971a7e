"""States and small vocabularies of operations, with the badge tone every template uses."""

from django.db import models


class OpState(models.TextChoices):
    PLANNED = "planned", "Planned (waiting for approval)"
    APPROVED = "approved", "Approved (queued)"
    RUNNING = "running", "Running"
    VERIFYING = "verifying", "Verifying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


ACTIVE_STATES = (OpState.PLANNED, OpState.APPROVED, OpState.RUNNING, OpState.VERIFYING)
EXECUTING_STATES = (OpState.RUNNING, OpState.VERIFYING)
TERMINAL_STATES = tuple(s for s in OpState if s not in ACTIVE_STATES)

STATE_TONE = {
    OpState.PLANNED: "info",
    OpState.APPROVED: "info",
    OpState.RUNNING: "warn",
    OpState.VERIFYING: "warn",
    OpState.SUCCEEDED: "ok",
    OpState.FAILED: "crit",
    OpState.ROLLED_BACK: "warn",
    OpState.CANCELLED: "muted",
    OpState.EXPIRED: "muted",
    OpState.NEEDS_ATTENTION: "crit",
}


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"  # written before the command leaves: a crash here is "unknown"
    VERIFYING = "verifying", "Verifying"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    UNKNOWN = "unknown", "Unknown (interrupted)"


class Phase(models.TextChoices):
    FORWARD = "forward", "Forward"
    ROLLBACK = "rollback", "Rollback"


class Awaiting(models.TextChoices):
    NOTHING = "", "Nothing"
    CONFIRM = "confirm", "A person's confirmation"
    DECIDE = "decide", "A person's decision"
    LATER = "later", "The next sweep (a long wait continues)"
