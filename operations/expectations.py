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
from operations.models import Operation

FOREVER = timedelta(days=1)  # until the operation ends; bounded so a lost run cannot mute forever


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
    """End this operation's expectations now, or after the grace period."""
    now = timezone.now()
    until = (
        now + timedelta(seconds=settings.NYIOPS_OPERATION_SILENCE_GRACE_SECONDS) if grace else now
    )
    return Expectation.objects.filter(owner=owner(op), ends_at__gt=until).update(ends_at=until)
