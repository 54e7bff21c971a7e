"""What people do to operations: request (plan), approve, cancel, confirm, decide.

Owns the transitions that a person causes, each in one transaction with its timeline entry
and audit row, and the dispatch of the run task on commit (with an outbox: a publish that
fails leaves `dispatched_at` empty and the sweeper sends it later, RELIABILITY A5).
Running steps is operations/engine.py's job.

Must not: talk SSH (planning reads the observed state in the database only).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from nyiops.celery import app as celery_app
from operations import actions, expectations
from operations.actions.base import Target, facts_hash
from operations.choices import Awaiting, OpState
from operations.models import Operation, OperationEvent

log = logging.getLogger(__name__)
RUN_TASK = "operations.tasks.run_operation"


class PlanRefused(Exception):
    """A hard preflight check failed: nothing was saved to run, the refusal is audited."""

    def __init__(self, message: str, checks: list[dict], operation: Operation | None = None):
        super().__init__(message)
        self.checks, self.operation = checks, operation


class OperationError(Exception):
    """The operation is not in a state that allows this, or the person may not do it."""


def event(op: Operation, kind: str, message: str, actor=None) -> OperationEvent:
    name = actor.get_username() if actor is not None and actor.is_authenticated else "system"
    return OperationEvent.objects.create(operation=op, kind=kind, message=message, actor_name=name)


def _scalar_extra(target: Target) -> dict:
    return {f"_{k}": v for k, v in target.extra.items() if isinstance(v, str | int | float | bool)}


@dataclass
class Computed:
    target: Target
    params: dict
    facts: dict
    checks: list[dict]
    steps: list[dict]
    predicted: list[str]
    diff: str


def compute(kind: str, target_text: str, raw_params: dict, *, now=None) -> Computed:
    """Resolve, read facts, preflight and plan from the observed state (no SSH, no writes).
    ValidationError names the bad field; KeyError an unknown kind."""
    action = actions.get(kind)
    now = now or timezone.now()
    params = action.clean_params(raw_params)
    target = action.resolve(target_text, params)
    params |= _scalar_extra(target) | {"_target_text": target_text}
    facts = action.facts(target, params)
    checks = [c.__dict__ for c in action.preflight(target, params, facts, now)]
    steps = [s.to_json() for s in action.plan(target, params, facts)]
    return Computed(
        target=target,
        params=params,
        facts=facts,
        checks=checks,
        steps=steps,
        predicted=action.predicted_findings(target, params, facts),
        diff=action.diff(target, params, facts),
    )


def request_operation(
    kind: str, target_text: str, params: dict, *, by, reason: str = "", request_id: str = ""
) -> Operation:
    """Plan an operation and save it PLANNED (or APPROVED when its kind needs no second
    person and policy lets the requester approve). Refused plans raise PlanRefused and are
    audited with their checks."""
    now = timezone.now()
    c = compute(kind, target_text, params, now=now)
    failed = [ch for ch in c.checks if ch["hard"] and not ch["ok"]]
    actor_name = by.get_username() if by is not None else "system"
    if failed:
        message = "; ".join(ch["message"] for ch in failed)
        with transaction.atomic():
            record(
                actor=by,
                action="operation.refused",
                target=c.target.cluster or c.target.host,
                after={
                    "kind": kind,
                    "target": c.target.label,
                    "params": _audit_params(c.params),
                    "checks": c.checks,
                },
                message=f"{kind} on {c.target.label} refused: {message}",
                request_id=request_id,
            )
        log.warning("operation refused: %s on %s: %s", kind, c.target.label, message)
        raise PlanRefused(f"refused: {message}", c.checks)
    with transaction.atomic():
        op = Operation.objects.create(
            kind=kind,
            target_label=c.target.label,
            cluster=c.target.cluster,
            host=c.target.host,
            params=c.params,
            reason=reason[:300],
            plan=c.steps,
            preflight=c.checks,
            diff=c.diff,
            facts=c.facts,
            plan_hash=facts_hash(c.facts),
            predicted_findings=c.predicted,
            affected_host_ids=[h.pk for h in c.target.hosts],
            requested_by=by if by is not None and by.is_authenticated else None,
            requested_by_name=actor_name,
            request_id=request_id,
            created_at=now,
        )
        event(op, "planned", f"planned by {actor_name}: {len(c.steps)} steps", by)
        record(
            actor=by,
            action="operation.requested",
            target=op,
            after=audit_snapshot(op),
            message=f"{op.label} {kind} on {op.target_label} requested",
            request_id=request_id,
        )
    log.info("operation requested: %s %s on %s by %s", op.label, kind, op.target_label, actor_name)
    return op


def approve(op: Operation, *, by, request_id: str = "") -> Operation:
    """Approve a planned operation and dispatch it. A second person is required where the
    kind's policy says so; the plan must still match the facts it was computed from."""
    action = actions.get(op.kind)
    now = timezone.now()
    with transaction.atomic():
        op = Operation.objects.select_for_update().get(pk=op.pk)
        if op.state != OpState.PLANNED:
            raise OperationError(f"{op.label} is {op.get_state_display().lower()}, not planned")
        if action.needs_second_person and by is not None and op.requested_by_id == by.pk:
            raise OperationError(
                f"{op.kind} needs a second person: the requester cannot approve it"
            )
        expires = op.created_at + timedelta(seconds=settings.NYIOPS_OPERATION_APPROVAL_TTL_SECONDS)
        if now > expires:
            _finish_unrun(op, OpState.EXPIRED, "the plan expired before approval", by)
            raise OperationError(f"{op.label} expired: plan again")
        current = compute(op.kind, _target_text(op), _user_params(op.params), now=now)
        if facts_hash(current.facts) != op.plan_hash:
            _finish_unrun(op, OpState.EXPIRED, "the observed state changed since the plan", by)
            raise OperationError(f"{op.label}: the facts changed since it was planned; plan again")
        op.state, op.approved_by, op.approved_at = OpState.APPROVED, by, now
        op.approval_expires_at = now + timedelta(
            seconds=settings.NYIOPS_OPERATION_APPROVAL_TTL_SECONDS
        )
        op.save(update_fields=["state", "approved_by", "approved_at", "approval_expires_at"])
        who = by.get_username() if by is not None else "system"
        event(op, "approved", f"approved by {who}", by)
        record(
            actor=by,
            action="operation.approved",
            target=op,
            after={"state": op.state},
            message=f"{op.label} approved",
            request_id=request_id,
        )
        expectations.expect(op)
        transaction.on_commit(lambda: dispatch(op.pk))
    return op


def _target_text(op: Operation) -> str:
    return op.params.get("_target_text") or op.target_label.split(" ")[0]


def _user_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith("_")}


def _finish_unrun(op: Operation, state: str, why: str, by) -> None:
    op.state, op.finished_at, op.result = state, timezone.now(), why
    op.save(update_fields=["state", "finished_at", "result"])
    event(op, state, why, by)
    record(actor=by, action=f"operation.{state}", target=op, after=audit_snapshot(op), message=why)


def cancel(op: Operation, *, by, request_id: str = "") -> Operation:
    """Cancel before it runs. A running operation is not cancelled mid-step: answer its
    question (abort) or let it finish and roll back."""
    with transaction.atomic():
        op = Operation.objects.select_for_update().get(pk=op.pk)
        if op.state not in (OpState.PLANNED, OpState.APPROVED):
            raise OperationError(f"{op.label} is {op.get_state_display().lower()}: too late")
        _finish_unrun(op, OpState.CANCELLED, f"cancelled by {_name(by)}", by)
        expectations.release(op, grace=False)
    return op


def answer(op: Operation, decision: str, *, by, request_id: str = "") -> Operation:
    """A person answers what a running operation waits for: `confirm` (pf push), `force`
    or `abort` (a drain past its deadline), `done` (a physical step)."""
    allowed = {Awaiting.CONFIRM: {"confirm", "abort"}, Awaiting.DECIDE: {"force", "abort"}}
    with transaction.atomic():
        op = Operation.objects.select_for_update().get(pk=op.pk)
        if not op.awaiting or decision not in allowed.get(op.awaiting, set()):
            raise OperationError(f"{op.label} is not waiting for '{decision}'")
        if op.awaiting_deadline and timezone.now() > op.awaiting_deadline and decision == "confirm":
            raise OperationError(f"{op.label}: too late to confirm, the hosts revert by themselves")
        op.decision = decision
        op.save(update_fields=["decision"])
        event(op, "answered", f"{_name(by)} answered '{decision}'", by)
        record(
            actor=by,
            action=f"operation.{decision}",
            target=op,
            message=f"{op.label}: {decision}",
            request_id=request_id,
        )
        transaction.on_commit(lambda: dispatch(op.pk, force=True))
    return op


def _name(by) -> str:
    return by.get_username() if by is not None else "system"


def _send(op_id: int) -> None:
    # By name, so services never import the tasks module (tasks import services).
    celery_app.send_task(RUN_TASK, args=(op_id,))


def dispatch(op_id: int, *, force: bool = False) -> bool:
    """Hand the run to the broker; a failure leaves it for the sweeper (nothing is lost)."""
    try:
        _send(op_id)
    except Exception as exc:
        log.warning("could not dispatch operation #%s (%s): the sweeper will", op_id, exc)
        return False
    Operation.objects.filter(pk=op_id).update(dispatched_at=timezone.now())
    return True


def redispatch_undelivered(now=None) -> int:
    """Beat sweeper: approved operations never handed to the broker (it was down), and runs
    whose lease ran out (worker killed) get dispatched again."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NYIOPS_OPERATION_REDISPATCH_SECONDS)
    ids = list(
        Operation.objects.filter(state=OpState.APPROVED, dispatched_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    ids += list(
        Operation.objects.filter(state=OpState.APPROVED, dispatched_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    ids += list(
        Operation.objects.filter(
            state__in=(OpState.RUNNING, OpState.VERIFYING), lease_until__lt=now, awaiting=""
        ).values_list("pk", flat=True)
    )
    ids += list(
        Operation.objects.filter(awaiting__gt="", awaiting_deadline__lt=now).values_list(
            "pk", flat=True
        )
    )
    sent = 0
    for pk in sorted(set(ids)):
        sent += dispatch(pk)
    return sent


def expire_stale_plans(now=None) -> int:
    now = now or timezone.now()
    ttl = timedelta(seconds=settings.NYIOPS_OPERATION_APPROVAL_TTL_SECONDS)
    n = 0
    for op in Operation.objects.filter(state=OpState.PLANNED, created_at__lt=now - ttl):
        with transaction.atomic():
            if Operation.objects.filter(pk=op.pk, state=OpState.PLANNED).update(
                state=OpState.EXPIRED, finished_at=now, result="not approved in time"
            ):
                event(op, "expired", "not approved in time")
                n += 1
    return n


AUDIT_PARAM_CAP = 4096


def _audit_params(params: dict) -> dict:
    """Parameters as audited: a long value (a pf ruleset) is kept as its size and sha256,
    the full text stays on the operation's plan."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and len(value) > AUDIT_PARAM_CAP:
            digest = hashlib.sha256(value.encode()).hexdigest()
            value = f"<{len(value)} characters, sha256 {digest}>"
        out[key] = value
    return out


def audit_snapshot(op: Operation) -> dict:
    return {
        "id": op.pk,
        "kind": op.kind,
        "state": op.state,
        "target": op.target_label,
        "params": _audit_params(op.params),
        "reason": op.reason,
        "requested_by": op.requested_by_name,
        "requested_by_id": op.requested_by_id,
        "approved_by_id": op.approved_by_id,
        "requested_at": op.created_at.isoformat() if op.created_at else None,
        "approved_at": op.approved_at.isoformat() if op.approved_at else None,
        "started_at": op.started_at.isoformat() if op.started_at else None,
        "finished_at": op.finished_at.isoformat() if op.finished_at else None,
        "plan": [{k: s[k] for k in ("key", "host", "argv")} for s in op.plan],
        "preflight": op.preflight,
        "result": op.result,
    }


__all__ = [
    "OperationError",
    "PlanRefused",
    "ValidationError",
    "answer",
    "approve",
    "cancel",
    "compute",
    "dispatch",
    "request_operation",
]
