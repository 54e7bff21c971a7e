"""The hand-over from an approved jail request to the operations engine, and back.

Owns the mapping request -> operation (kind, target, parameters) and operation state ->
the request's status in customer words ("being set up: step 2 of 4", "ready", or the
failure in plain words, never a stack trace). `sync_requests` is the one place that moves a
request on from its operation; a beat task calls it, and the CLI and tests may too.

It must not run commands itself: the engine plans, locks, runs, verifies and rolls back;
this module only asks for an operation and reads it.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction

from customers.choices import JailPurpose, RequestStatus
from customers.models import JailRequest
from portal import notices
from portal.releases import TEMPLATES

log = logging.getLogger(__name__)


class ProvisioningRefused(Exception):
    """The engine would not plan the operation; `message` says why in NOC words."""


def engine_available() -> bool:
    return apps.is_installed("operations")


def operation_request(req) -> tuple[str, str, dict]:
    """(kind, target, params) for a request: a twin clones its source on the source's host;
    anything else is created from its release template (or empty)."""
    params = {
        "name": req.name,
        "hostname": req.hostname,
        "ip": req.ip,
        "size_gb": req.size_gb,
        "request": req.pk,
    }
    if req.purpose == JailPurpose.TWIN:
        source = req.twin_of_label.rsplit(":", 1)[-1]
        return "jail-twin", req.host.name, {**params, "source": source}
    return "jail-create", req.host.name, {**params, "template": TEMPLATES.get(req.template, "")}


def start(req, user) -> int | None:
    """Plan and approve the provisioning operation (approval of the request is the NOC's
    decision; the operation needs no second person). Its id, or None without the engine."""
    if not engine_available():
        return None
    from operations import services

    kind, target, params = operation_request(req)
    try:
        op = services.request_operation(
            kind, target, params, by=user, reason=f"jail request #{req.pk} of {req.customer.slug}"
        )
        services.approve(op, by=user)
    except services.PlanRefused as exc:
        raise ProvisioningRefused(str(exc)) from exc
    except (ValidationError, services.OperationError) as exc:
        raise ProvisioningRefused(str(exc)) from exc
    return op.pk


def words_for(op) -> tuple[str, str]:
    """(request status, customer text) for an operation's state."""
    from operations.choices import OpState, StepState

    if op is None:
        return RequestStatus.APPROVED, "Next in line for setup."
    steps = [s for s in op.steps.all() if s.phase == "forward"]
    total = len(steps) or 1
    done = sum(1 for s in steps if s.state in (StepState.DONE, StepState.SKIPPED))
    if op.state in (OpState.PLANNED, OpState.APPROVED):
        return RequestStatus.APPROVED, "Next in line for setup."
    if op.state in (OpState.RUNNING, OpState.VERIFYING):
        current = next((s for s in steps if s.state not in ("done", "skipped")), None)
        what = f": {current.title.lower()}" if current else ""
        return (
            RequestStatus.PROVISIONING,
            f"Being set up: step {min(done + 1, total)} of {total}{what}.",
        )
    if op.state == OpState.SUCCEEDED:
        return RequestStatus.READY, "Your jail is running."
    if op.state == OpState.ROLLED_BACK:
        return (
            RequestStatus.FAILED,
            "Setup did not complete and was undone cleanly; nothing was left behind. "
            "Our NOC has the details and will retry or contact you.",
        )
    if op.state == OpState.NEEDS_ATTENTION:
        return (
            RequestStatus.FAILED,
            "Setup stopped part-way and needs our NOC's attention; they have been told.",
        )
    return RequestStatus.FAILED, "Setup did not complete. Our NOC has the details."


def sync_requests() -> int:
    """Move approved and provisioning requests on from their operations, and carry a
    finished resize into its request's size (the tier's disk accounting and the next
    resize's undo read it); how many moved."""
    if not engine_available():
        return 0
    moved = sync_resizes()
    from operations.models import Operation

    moving = list(
        JailRequest.objects.filter(
            status__in=(RequestStatus.APPROVED, RequestStatus.PROVISIONING),
            operation_id__isnull=False,
        ).values_list("pk", "operation_id", "status", "status_text")
    )
    ops = Operation.objects.prefetch_related("steps").in_bulk([m[1] for m in moving])
    for pk, op_id, status, text in moving:
        new_status, new_text = words_for(ops.get(op_id))
        if (new_status, new_text) != (status, text):
            progress(pk, status=new_status, text=new_text)
            moved += 1
    return moved


def progress(request_id: int, *, status: str, text: str) -> None:
    """Provisioning reports here; the customer reads `text`. READY and FAILED send notices.
    A request already finished is not moved back (a late or repeated report)."""
    with transaction.atomic():
        req = JailRequest.objects.select_for_update().get(pk=request_id)
        if req.status in (RequestStatus.READY, RequestStatus.REJECTED, RequestStatus.CANCELLED):
            return
        if (req.status, req.status_text) == (status, text):
            return
        req.status, req.status_text = status, text[:500]
        req.save(update_fields=["status", "status_text", "updated_at"])
        if status == RequestStatus.READY:
            notices.send(req, "ready")
        elif status == RequestStatus.FAILED:
            notices.send(req, "failed")


def sync_resizes(window=None) -> int:
    from datetime import timedelta

    from django.utils import timezone

    from operations.models import Operation

    since = timezone.now() - (window or timedelta(hours=1))
    moved = 0
    for host_id, params in Operation.objects.filter(
        kind="jail-resize", state="succeeded", finished_at__gte=since
    ).values_list("host_id", "params"):
        moved += (
            JailRequest.objects.filter(
                host_id=host_id, name=params.get("name"), status=RequestStatus.READY
            )
            .exclude(size_gb=params.get("size_gb"))
            .update(size_gb=params.get("size_gb"))
        )
    return moved
