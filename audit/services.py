"""record(): the one way to write an audit record, inside the caller's transaction."""

from django.db import models

from audit.models import AuditRecord
from nyiops import requestid


def record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    message: str = "",
    request_id: str = "",
) -> AuditRecord:
    """Append one audit row. Call it inside the service's transaction, so the record exists
    exactly when the change does. Without `request_id`, the current web request's id is used
    (nyiops.requestid), so every row a request causes can be traced back to it."""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditRecord.objects.create(
        actor=actor if authenticated else None,
        actor_name=actor.get_username() if authenticated else "system",
        request_id=request_id or requestid.current(),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
        message=message,
    )
