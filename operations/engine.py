"""The step runner: one operation, one step at a time, verified, rolled back when it fails.

Owns the execution state machine (approved → running → verifying → succeeded | failed |
rolled_back | needs_attention), the claim on a run (a run token with a lease), the step
writes (each checked against the lock's fencing token, RELIABILITY E2) and resuming an
interrupted run (A3):
1. claim: a conditional transition only one delivery wins (A4); a RUNNING operation whose
   lease ran out is taken over and audited as interrupted;
2. first start: re-poll the affected hosts, refuse when the facts changed since approval
   or a hard preflight check fails now, then take the locks (pair first, hosts by id, E1);
3. each step is written SENDING before its command leaves; after a crash, a SENDING step
   of a non-idempotent kind is judged from a fresh poll (`done_<key>`): done, not done, or
   unknown → needs_attention with the host state, never sent twice blindly;
4. verify by polling the affected hosts until the kind's verdict holds or the window ends;
5. a failed step rolls back the done steps in reverse, each verified too.

Must not: build commands (the kinds do, through hosts.freebsd.commands) or hold any kind's
logic; talk to paramiko (hosts.ssh does, through hosts.polling's connection pool).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record
from hosts.freebsd.commands import Cmd
from hosts.models import Host, HostFacts
from hosts.polling.run import CONNECTIONS, poll_host, ssh_target
from hosts.ssh import SSHError
from operations import actions, expectations, locks
from operations.actions.base import Verdict, facts_hash
from operations.choices import EXECUTING_STATES, Awaiting, OpState, Phase, StepState
from operations.models import OUTPUT_CAP, Operation, OperationStep
from operations.services import audit_snapshot, compute, event

log = logging.getLogger(__name__)
ROLLBACK_BASE = 1000  # rollback steps are numbered after every forward step


class Stop(Exception):
    """End this run with a final state (raised from deep inside, handled in run())."""

    def __init__(self, state: str, message: str, *, undo_this: bool = False):
        super().__init__(message)
        self.state, self.message = state, message
        self.undo_this = undo_this  # the failing step's command ran: roll it back too


class Parked(Exception):
    """The run waits for a person; the operation stays claimed-free until answered."""


def refresh(host_ids, *, counters: bool = False) -> None:
    """Poll these hosts now with the poller's own code (same parsers, same store).

    One after the other, on purpose: each poll judges the pair with the other member's
    committed rows, so polls of both members in parallel can both judge against the other's
    old state and miss a failover until the periodic re-judgement (measured on PostgreSQL).
    In turn, the second poll sees the first's data. Two polls on persistent connections cost
    a few milliseconds.

    `counters`: store this moment's counters too (HAProxy's current sessions). The poller
    stores them only with its once-a-minute metric sample, so without this a verdict on
    them reads a value up to a minute old: a drain waited up to 60 s after its sessions
    had ended, or passed on a minute-old 0 while sessions were open. Marking the sample
    due is the poller's own way to store them (the samples taken meanwhile are real ones)."""
    ids = list(host_ids)
    if counters:
        HostFacts.objects.filter(host_id__in=ids).update(metrics_sampled_at=None)
    for host in Host.objects.select_related("credential").filter(pk__in=ids):
        poll_host(host)


def send(host: Host, cmd: Cmd, timeout: float):
    return CONNECTIONS.run(ssh_target(host), cmd.script, timeout=timeout, stdin=cmd.stdin)


def _lease() -> timedelta:
    return timedelta(seconds=settings.NYIOPS_OPERATION_LOCK_LEASE_SECONDS)


def _claim(op_id: int) -> tuple[Operation | None, bool, str]:
    """(operation, resumed, message). Every path is one conditional UPDATE on what was read:
    of two deliveries only one can win it (RELIABILITY A4), on any database."""
    now = timezone.now()
    token = str(uuid.uuid4())
    op = Operation.objects.filter(pk=op_id).first()
    if op is None:
        return None, False, f"operation #{op_id} does not exist"
    current = Operation.objects.filter(pk=op.pk, state=op.state, run_token=op.run_token)
    resumed = False
    take = {"run_token": token, "lease_until": now + _lease()}
    if op.state == OpState.APPROVED:
        if op.approval_expires_at and now > op.approval_expires_at:
            with transaction.atomic():
                expired = "approval expired"
                if current.update(state=OpState.EXPIRED, finished_at=now, result=expired):
                    event(op, "expired", "the approval expired before the run started")
                    expectations.release(op, grace=False)
            return None, False, f"{op.label}: approval expired"
        won = current.update(state=OpState.RUNNING, started_at=now, **take)
    elif op.state in EXECUTING_STATES and op.awaiting == Awaiting.LATER:
        if op.awaiting_deadline is not None and now < op.awaiting_deadline:
            return None, False, f"{op.label}: continues at {op.awaiting_deadline:%H:%M:%S}"
        won = current.filter(awaiting=op.awaiting).update(
            awaiting="", awaiting_prompt="", awaiting_deadline=None, **take
        )
    elif op.state in EXECUTING_STATES and op.awaiting:
        timed_out = op.awaiting_deadline is not None and now > op.awaiting_deadline
        if not op.decision and not timed_out:
            return None, False, f"{op.label}: waiting for a person"
        won = current.filter(awaiting=op.awaiting, decision=op.decision).update(**take)
    elif op.state in EXECUTING_STATES:
        if op.lease_until is not None and op.lease_until >= now:
            return None, False, f"{op.label}: already running"
        resumed = True
        won = current.filter(lease_until=op.lease_until).update(**take)
    else:
        return None, False, f"{op.label}: already {op.state}"
    if not won:
        return None, False, f"{op.label}: another delivery is running it"
    op.refresh_from_db()
    if resumed:
        with transaction.atomic():
            event(op, "interrupted", "the previous run stopped (lease expired): resuming")
            record(
                actor=None,
                action="operation.interrupted",
                target=op,
                message=f"{op.label}: the worker running it stopped; resumed after a fresh poll",
                request_id=op.request_id,
            )
    return op, resumed, ""


def run(op_id: int) -> str:
    """Run (or resume) one operation until it ends or waits for a person."""
    op, _resumed, message = _claim(op_id)  # a resumed run re-polls per step (_resolve_interrupted)
    if op is None:
        return message
    action = actions.get(op.kind)
    try:
        if op.steps.exists():
            locks.acquire(op)  # ours (expired) or free: a new token fences the old run
        else:
            _start(op, action)  # also after a crash before any step was written
        _forward(op, action)
        _finish(op, OpState.SUCCEEDED, _success_message(op))
    except Parked:
        return f"{op.label}: waiting for a person ({op.awaiting})"
    except Stop as stop:
        _finish(op, stop.state, stop.message)
    except locks.LockBusy as busy:
        _finish(op, OpState.FAILED, f"refused: {busy}", release=False)
    except locks.Fenced as fenced:
        _fenced(op, str(fenced))
        return f"{op.label}: fenced: {fenced}"
    op.refresh_from_db()
    return f"{op.label}: {op.state}: {op.result}"


def _start(op: Operation, action) -> None:
    refresh(op.affected_host_ids)
    current = compute(op.kind, op.params["_target_text"], _user_params(op), now=timezone.now())
    failed = [c for c in current.checks if c["hard"] and not c["ok"]]
    if failed:
        raise Stop(OpState.FAILED, "refused at start: " + "; ".join(c["message"] for c in failed))
    if facts_hash(current.facts) != op.plan_hash:
        raise Stop(OpState.EXPIRED, "the observed state changed since approval: plan again")
    locks.acquire(op)
    with transaction.atomic():
        _check_owner(op)
        for i, spec in enumerate(op.plan, start=1):
            OperationStep.objects.create(
                operation=op,
                position=i,
                key=spec["key"],
                title=spec["title"][:200],
                host_id=spec["host_id"],
                script=spec["script"],
                argv=spec["argv"],
                spec=spec,
                idempotent=spec["idempotent"],
            )
        event(op, "started", f"locks taken (fencing token {op.fencing_token}); running")


def _user_params(op: Operation) -> dict:
    return {k: v for k, v in op.params.items() if not k.startswith("_")}


def _check_owner(op: Operation) -> None:
    """Inside a transaction: this run still owns the operation and its locks."""
    if not Operation.objects.filter(pk=op.pk, run_token=op.run_token).exists():
        raise locks.Fenced(f"{op.label} is run by another worker now")
    locks.check(op)


def _renew(op: Operation) -> None:
    now = timezone.now()
    with transaction.atomic():
        locks.renew(op, now)
        if not Operation.objects.filter(pk=op.pk, run_token=op.run_token).update(
            lease_until=now + _lease()
        ):
            raise locks.Fenced(f"{op.label} is run by another worker now")


def _forward(op: Operation, action) -> None:
    done: list[OperationStep] = []
    for step in op.steps.filter(phase=Phase.FORWARD).order_by("position"):
        if step.state in (StepState.DONE, StepState.SKIPPED):
            done.append(step)
            continue
        try:
            _do_step(op, action, step)
        except Stop as stop:
            if stop.state == OpState.NEEDS_ATTENTION:
                raise
            undo = done + ([step] if stop.undo_this else [])
            if not undo:
                raise Stop(OpState.FAILED, stop.message) from None
            _rollback(op, action, undo, stop.message)
        done.append(step)


def _do_step(op: Operation, action, step: OperationStep) -> None:
    spec = step.spec
    _set_state(op, OpState.RUNNING)
    if step.state in (StepState.SENDING, StepState.UNKNOWN, StepState.VERIFYING):
        if not _resolve_interrupted(op, action, step):
            _send_step(op, step)
    elif spec.get("ask") and op.decision:
        pass  # answered: handled by _await below
    elif spec["script"]:
        _send_step(op, step)
    if spec.get("ask") == Awaiting.CONFIRM and not spec.get("verify"):
        _await(op, step, Awaiting.CONFIRM)
        return
    if spec.get("ask") and op.decision:
        _await(op, step, spec["ask"])
        return
    verdict = _verify(op, action, step)
    if verdict.state == "ok":
        _step_done(op, step, verdict.message)
        return
    if spec.get("ask"):
        _await(op, step, spec["ask"], why=verdict.message)
        return
    _step_failed(op, step, verdict.message)
    raise Stop(OpState.FAILED, verdict.message, undo_this=bool(spec["script"]))


def _set_state(op: Operation, state: str) -> None:
    if op.state != state:
        Operation.objects.filter(pk=op.pk, run_token=op.run_token).update(state=state)
        op.state = state


def _send_step(op: Operation, step: OperationStep, *, retried: bool = False) -> None:
    """Write SENDING (fenced), send, write the result (fenced). A connection that dropped
    after the command left is judged from a fresh poll; the step is sent again at most once,
    and only when that judgement says it did not take effect (or it is idempotent)."""
    spec = step.spec
    host = Host.objects.select_related("credential").get(pk=step.host_id)
    cmd = Cmd(
        tuple(spec["argv"]),
        spec["script"],
        spec["stdin"].encode() if spec.get("stdin") is not None else None,
    )
    _renew(op)
    with transaction.atomic():
        _check_owner(op)
        step.state, step.started_at = StepState.SENDING, timezone.now()
        step.fencing_token = op.fencing_token
        step.save(update_fields=["state", "started_at", "fencing_token"])
    clock = time.monotonic()
    timeout = settings.NYIOPS_OPERATION_COMMAND_TIMEOUT_SECONDS
    try:
        result = send(host, cmd, timeout)
    except SSHError as err:
        with transaction.atomic():
            _check_owner(op)
            step.duration_ms = int((time.monotonic() - clock) * 1000)
            step.stderr = f"ssh: {err.reason}"
            step.finished_at = timezone.now()
            step.state = StepState.UNKNOWN if err.command_sent else StepState.FAILED
            step.save()
            event(
                op, "step-error", f"step {step.position} ({step.key}) on {host.name}: {err.reason}"
            )
        if not err.command_sent:
            raise Stop(OpState.FAILED, f"{step.title}: {err.reason} (nothing was sent)") from None
        # Sent, outcome unknown (connection dropped): judge from a fresh poll like a resume.
        if _resolve_interrupted(op, actions.get(op.kind), step):
            with transaction.atomic():
                _check_owner(op)
                step.state = StepState.VERIFYING
                step.save(update_fields=["state"])
            return
        if retried:
            raise Stop(OpState.NEEDS_ATTENTION, f"{step.title}: {err.reason}") from None
        _send_step(op, step, retried=True)
        return
    with transaction.atomic():
        _check_owner(op)
        step.exit_status = result.exit_status
        step.stdout = result.stdout[:OUTPUT_CAP]
        step.stderr = result.stderr[:OUTPUT_CAP]
        step.duration_ms = int(result.duration_s * 1000)
        step.finished_at = timezone.now()
        ok = result.exit_status in spec.get("allowed_exit", [0])
        step.state = StepState.VERIFYING if ok else StepState.FAILED
        step.save()
        event(
            op,
            "step-sent",
            f"step {step.position} on {host.name}: {spec['script']} → exit {result.exit_status}",
        )
    if not ok:
        first = (result.stderr or result.stdout).strip().splitlines()
        detail = first[0] if first else f"exit {result.exit_status}"
        raise Stop(OpState.FAILED, f"{step.title} failed on {host.name}: {detail}")


def _resolve_interrupted(op: Operation, action, step: OperationStep) -> bool:
    """After a crash or a dropped connection: True if the step already took effect (go on
    to verify), False if it did not (send it). Unknown → needs_attention, never a blind
    second send of a non-idempotent command."""
    refresh(op.affected_host_ids)
    if step.state == StepState.VERIFYING:
        return True  # the result was recorded before the interruption
    if step.idempotent:
        event(op, "resume", f"step {step.position} ({step.key}) is idempotent: sending again")
        return False
    judge = getattr(action, f"done_{step.key}", None)
    verdict = judge(op, step) if judge else None
    if verdict is True:
        event(op, "resume", f"step {step.position} ({step.key}) had taken effect: verifying")
        return True
    if verdict is False:
        event(op, "resume", f"step {step.position} ({step.key}) had not taken effect: sending")
        return False
    state = _host_state(op)
    with transaction.atomic():
        _check_owner(op)
        step.state = StepState.UNKNOWN
        step.verify_message = "cannot tell whether it ran; host state: " + state
        step.save(update_fields=["state", "verify_message"])
    raise Stop(
        OpState.NEEDS_ATTENTION,
        f"step {step.position} ({step.title}) was interrupted and its effect cannot be "
        f"determined; host state now: {state}",
    )


def _host_state(op: Operation) -> str:
    parts = []
    for h in Host.objects.select_related("facts").filter(pk__in=op.affected_host_ids):
        facts = getattr(h, "facts", None)
        vhids = ", ".join(f"{v.vhid} {v.state}" for v in h.carp_vhids.filter(gone_at__isnull=True))
        parts.append(
            f"{h.name} {h.reachability}"
            + (
                f", demotion {facts.carp_demotion}"
                if facts and facts.carp_demotion is not None
                else ""
            )
            + (f", vhids {vhids}" if vhids else "")
        )
    return "; ".join(parts)


def _verify(op: Operation, action, step: OperationStep) -> Verdict:
    spec = step.spec
    if not spec.get("verify"):
        return Verdict.ok("exit status 0")
    _set_state(op, OpState.VERIFYING)
    check = getattr(action, f"verify_{spec['verify']}")
    # The window is wall-clock and stored, so a wait longer than one task (a disk rebuild)
    # continues in the next run where this one left off.
    if "verify_until" not in spec:
        until = timezone.now() + timedelta(seconds=float(spec.get("window") or 0))
        spec["verify_until"] = until.isoformat()
        OperationStep.objects.filter(pk=step.pk).update(spec=spec)
    until = datetime.fromisoformat(spec["verify_until"])
    slice_end = time.monotonic() + settings.NYIOPS_OPERATION_VERIFY_SLICE_SECONDS
    interval = settings.NYIOPS_OPERATION_VERIFY_INTERVAL_SECONDS
    counters = spec["verify"] in action.counter_verifications
    while True:
        refresh(op.affected_host_ids, counters=counters)
        verdict = check(op, step)
        if verdict.progress is not None or verdict.message != op.progress_note:
            Operation.objects.filter(pk=op.pk, run_token=op.run_token).update(
                progress_pct=verdict.progress, progress_note=verdict.message[:200]
            )
            op.progress_note = verdict.message[:200]
        if verdict.state in ("ok", "fail") or timezone.now() >= until:
            return verdict if verdict.state != "wait" else Verdict.fail(verdict.message)
        if time.monotonic() >= slice_end:
            _continue_later(op, verdict.message)
        _renew(op)
        time.sleep(interval)


def _continue_later(op: Operation, why: str) -> None:
    """Hand a long wait to the next sweep instead of holding a worker past its limits."""
    later = timezone.now() + timedelta(seconds=settings.NYIOPS_OPERATION_LATER_SECONDS)
    with transaction.atomic():
        _check_owner(op)
        locks.OperationLock.objects.filter(operation=op, token=op.fencing_token).update(
            lease_until=later + _lease()
        )
        Operation.objects.filter(pk=op.pk).update(
            awaiting=Awaiting.LATER,
            awaiting_prompt=why[:300],
            awaiting_deadline=later,
            lease_until=None,
        )
        event(op, "waiting", f"still waiting ({why}); continuing in the next sweep")
    op.awaiting = Awaiting.LATER
    raise Parked()


def _step_done(op: Operation, step: OperationStep, message: str) -> None:
    with transaction.atomic():
        _check_owner(op)
        step.state, step.verify_message = StepState.DONE, message
        step.finished_at = step.finished_at or timezone.now()
        step.save(update_fields=["state", "verify_message", "finished_at"])
        event(op, "step-done", f"step {step.position} ({step.key}): {message}")
    _set_state(op, OpState.RUNNING)


def _step_failed(op: Operation, step: OperationStep, message: str) -> None:
    with transaction.atomic():
        _check_owner(op)
        step.state, step.verify_message = StepState.FAILED, message
        step.save(update_fields=["state", "verify_message"])
        event(op, "step-failed", f"step {step.position} ({step.key}): {message}")


def _await(op: Operation, step: OperationStep, what: str, why: str = "") -> None:
    """Consume a person's answer, or park the run until there is one."""
    now = timezone.now()
    if op.decision:
        decision = op.decision
        with transaction.atomic():
            _check_owner(op)
            Operation.objects.filter(pk=op.pk).update(
                awaiting="", awaiting_prompt="", awaiting_deadline=None, decision=""
            )
            op.awaiting, op.decision = "", ""
        if decision == "abort":
            _step_failed(op, step, "aborted by a person")
            raise Stop(OpState.FAILED, f"{step.title}: aborted by a person")
        _step_done(op, step, f"{decision} by a person")
        return
    if op.awaiting and op.awaiting_deadline and now > op.awaiting_deadline:
        _step_failed(op, step, "no answer before the deadline")
        raise Stop(OpState.FAILED, f"{step.title}: nobody answered before the deadline")
    seconds = (
        settings.NYIOPS_PF_CONFIRM_SECONDS
        if what == Awaiting.CONFIRM
        else settings.NYIOPS_OPERATION_DECIDE_SECONDS
    )
    deadline = now + timedelta(seconds=seconds)
    prompt = step.spec.get("data", {}).get("prompt") or (
        f"{why}: force or abort?" if what == Awaiting.DECIDE else "confirm to keep the change"
    )
    with transaction.atomic():
        _check_owner(op)
        # The locks stay ours while a person thinks: their lease covers the deadline.
        locks.OperationLock.objects.filter(operation=op, token=op.fencing_token).update(
            lease_until=deadline + _lease()
        )
        Operation.objects.filter(pk=op.pk).update(
            state=OpState.VERIFYING,
            awaiting=what,
            awaiting_prompt=prompt[:300],
            awaiting_deadline=deadline,
            lease_until=None,
        )
        event(op, "waiting", f"waiting for a person until {deadline:%H:%M:%S} UTC: {prompt}")
    op.awaiting, op.awaiting_deadline = what, deadline
    raise Parked()


def _rollback(op: Operation, action, done: list[OperationStep], why: str) -> None:
    """Undo the done steps in reverse, each verified; ends ROLLED_BACK or NEEDS_ATTENTION."""
    undo = [s for s in reversed(done) if s.spec.get("rollback")]
    if not undo:
        raise Stop(OpState.FAILED, why)  # nothing it did needs undoing
    event(op, "rollback", f"rolling back {len(undo)} step(s): {why}")
    base = ROLLBACK_BASE + op.steps.filter(phase=Phase.ROLLBACK).count()
    for i, forward in enumerate(undo):
        spec = forward.spec["rollback"]
        step = OperationStep.objects.create(
            operation=op,
            position=base + i + 1,
            phase=Phase.ROLLBACK,
            key=spec["key"],
            title=spec["title"][:200],
            host_id=spec["host_id"],
            script=spec["script"],
            argv=spec["argv"],
            spec=spec,
            idempotent=spec["idempotent"],
        )
        try:
            if spec["script"]:
                try:
                    _send_step(op, step)
                except Stop:
                    # A host that cut itself off cannot be told to revert: its own timer
                    # does it, and the verify below waits for that.
                    if not spec.get("data", {}).get("tolerate_unreachable"):
                        raise
                    event(op, "rollback", f"{step.title}: not reachable; waiting for the host")
            verdict = _verify(op, action, step)
        except Stop as stop:
            raise Stop(
                OpState.NEEDS_ATTENTION, f"{why}; rollback step '{step.title}' failed: {stop}"
            ) from None
        if verdict.state != "ok":
            _step_failed(op, step, verdict.message)
            raise Stop(
                OpState.NEEDS_ATTENTION,
                f"{why}; rollback step '{step.title}' did not verify: {verdict.message}",
            )
        _step_done(op, step, verdict.message)
    raise Stop(OpState.ROLLED_BACK, f"{why}; rolled back")


def _success_message(op: Operation) -> str:
    said = [
        m
        for m in op.steps.filter(phase=Phase.FORWARD, state=StepState.DONE)
        .order_by("position")
        .values_list("verify_message", flat=True)
        if m and m != "exit status 0"
    ]
    return "; ".join(dict.fromkeys(said)) or "every step done"


def _finish(op: Operation, state: str, message: str, *, release: bool = True) -> None:
    now = timezone.now()
    with transaction.atomic():
        if not Operation.objects.filter(pk=op.pk, run_token=op.run_token).update(
            state=state,
            finished_at=now,
            result=message,
            lease_until=None,
            awaiting="",
            progress_pct=100 if state == OpState.SUCCEEDED else None,
        ):
            return  # another run owns it now
        op.refresh_from_db()
        if release:
            locks.release(op)
        expectations.release(op, grace=True)
        event(op, state, message)
        record(
            actor=None,
            action=f"operation.{state}",
            target=op,
            after=audit_snapshot(op)
            | {"steps": [s.audit_dict() for s in op.steps.select_related("host")]},
            message=f"{op.label} {op.kind} on {op.target_label}: {state}: {message}"[:2000],
            request_id=op.request_id,
        )
    log.info("%s %s: %s: %s", op.label, op.kind, state, message)


def _fenced(op: Operation, message: str) -> None:
    """A superseded run stops without touching the hosts or the new owner's rows."""
    with transaction.atomic():
        event(op, "fenced", message)
        record(actor=None, action="operation.fenced", target=op, message=message)
    log.warning("%s", message)
