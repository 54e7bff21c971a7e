"""Operation-scoped silence: the findings an operation's plan predicts, written to alerts'
Expectation table so those alerts show "expected, operation #N" and do not page.

Owns translating an operation into Expectation rows and ending them (with a grace period
after the operation ends, so the tail of a failover does not page). alerts reads the rows
by dedup key; it never imports operations. Anything the plan did not predict still pages.

Must not: touch alerts' paging or Alert rows directly.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from alerts.models import Expectation
from operations import actions
from operations.choices import OpState
from operations.models import Operation

# Until the operation (or the maintenance it starts) ends; bounded so nothing mutes forever.
FOREVER = timedelta(days=1)


def owner(op: Operation) -> str:
    return f"operation #{op.pk}"


def expect(op: Operation) -> int:
    now = timezone.now()
    rows = [
        Expectation(
            dedup_key=key,
            owner=owner(op),
            reason=f"{op.kind} on {op.target_label}",
            starts_at=now,
            ends_at=now + FOREVER,
        )
        for key in op.predicted_findings
    ]
    Expectation.objects.bulk_create(rows)
    return len(rows)


def release(op: Operation, *, grace: bool) -> int:
    """End this operation's expectations now, or after the grace period. A kind whose
    effect lasts past its own run (a member left in CARP maintenance) keeps them until the
    operation that ends that state finishes."""
    action = actions.get(op.kind)
    if op.state == OpState.SUCCEEDED and action.silence_outlasts_success:
        return 0
    now = timezone.now()
    until = (
        now + timedelta(seconds=settings.NYIOPS_OPERATION_SILENCE_GRACE_SECONDS) if grace else now
    )
    owners = [owner(op)] + [owner(o) for o in action.silences_ended_by(op)]
    return Expectation.objects.filter(owner__in=owners, ends_at__gt=until).update(ends_at=until)
