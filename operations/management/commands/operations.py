"""`manage.py operations ...`: the operations engine for terminals, scripts and tests.

Calls the same services as the pages and the same engine as the worker (`run` runs in this
process until the operation ends or waits for a person)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from operations import actions, engine, services
from operations.choices import ACTIVE_STATES
from operations.models import Operation


def _user(name: str | None):
    if not name:
        return None
    try:
        return get_user_model().objects.get(username=name)
    except get_user_model().DoesNotExist:
        raise CommandError(f"no user {name!r}") from None


def _op(pk: int) -> Operation:
    try:
        return Operation.objects.get(pk=pk)
    except Operation.DoesNotExist:
        raise CommandError(f"no operation #{pk}") from None


def _params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--param wants KEY=VALUE, not {pair!r}")
        if key == "file":  # a local file's content (pf-push's candidate ruleset)
            try:
                params["ruleset"] = Path(value).read_text()
            except OSError as exc:
                raise CommandError(f"cannot read {value}: {exc.strerror}") from None
            continue
        params[key] = value
    return params


def as_dict(op: Operation) -> dict:
    out = services.audit_snapshot(op)
    out["awaiting"] = op.awaiting
    out["awaiting_prompt"] = op.awaiting_prompt
    out["steps"] = [s.audit_dict() for s in op.steps.select_related("host").order_by("position")]
    out["events"] = [
        {"at": e.at.isoformat(), "kind": e.kind, "message": e.message} for e in op.events.all()
    ]
    return out


class Command(BaseCommand):
    help = (
        "Plan, approve, run and inspect operations (kinds, plan, approve, run, show, cancel, list)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("kinds")
        p = sub.add_parser("plan")
        p.add_argument("kind")
        p.add_argument("target")
        p.add_argument("--user", required=True)
        p.add_argument("--param", action="append", default=[])
        p.add_argument("--reason", default="")
        p.add_argument("--json", action="store_true")
        for name in ("approve", "cancel"):
            a = sub.add_parser(name)
            a.add_argument("id", type=int)
            a.add_argument("--user", required=name == "approve")
        a = sub.add_parser("answer")
        a.add_argument("id", type=int)
        a.add_argument("decision", choices=["confirm", "abort", "force"])
        a.add_argument("--user", required=True)
        r = sub.add_parser("run")
        r.add_argument("id", type=int)
        s = sub.add_parser("show")
        s.add_argument("id", type=int)
        s.add_argument("--json", action="store_true")
        ls = sub.add_parser("list")
        ls.add_argument("--json", action="store_true")
        ls.add_argument("--all", action="store_true")

    def handle(self, *args, **o):
        getattr(self, "do_" + o["sub"])(o)

    def do_kinds(self, o):
        for a in actions.all_actions():
            second = "second person" if a.needs_second_person else "self-approve"
            fields = ", ".join(a.params_form.base_fields) or "-"
            self.stdout.write(
                f"{a.kind:22} {a.title} [target: {a.target_help}; params: {fields}; {second}]"
            )

    def do_plan(self, o):
        try:
            op = services.request_operation(
                o["kind"], o["target"], _params(o["param"]), by=_user(o["user"]), reason=o["reason"]
            )
        except KeyError as exc:
            raise CommandError(str(exc).strip("'\"")) from None
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        except services.PlanRefused as exc:
            for c in exc.checks:
                mark = "ok  " if c["ok"] else ("FAIL" if c["hard"] else "warn")
                self.stderr.write(f"  [{mark}] {c['name']}: {c['message']}")
            raise CommandError(str(exc)) from None
        if o["json"]:
            self.stdout.write(json.dumps(as_dict(op), indent=2))
            return
        self._print_plan(op)
        self.stdout.write(
            f"planned {op.label} (id {op.pk}); approve with: operations approve {op.pk} --user NAME"
        )

    def _print_plan(self, op: Operation):
        self.stdout.write(f"{op.label} {op.kind} on {op.target_label} [{op.state}]")
        for c in op.preflight:
            mark = "ok  " if c["ok"] else ("FAIL" if c["hard"] else "warn")
            self.stdout.write(f"  [{mark}] {c['name']}: {c['message']}")
        if op.diff:
            self.stdout.write(op.diff)
        for i, s in enumerate(op.plan, 1):
            self.stdout.write(f"  {i}. {s['host'] or '-'}: {s['script'] or s['title']}")
            self.stdout.write(f"     why: {s['why']}; success: {s['success']}; undo: {s['undo']}")

    def do_approve(self, o):
        try:
            op = services.approve(_op(o["id"]), by=_user(o["user"]))
        except services.OperationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"approved {op.label}")

    def do_cancel(self, o):
        try:
            op = services.cancel(_op(o["id"]), by=_user(o.get("user")))
        except services.OperationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"cancelled {op.label}")

    def do_answer(self, o):
        try:
            services.answer(_op(o["id"]), o["decision"], by=_user(o["user"]))
        except services.OperationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"answered {o['decision']}")

    def do_run(self, o):
        _op(o["id"])
        self.stdout.write(engine.run(o["id"]))

    def do_show(self, o):
        op = _op(o["id"])
        if o["json"]:
            self.stdout.write(json.dumps(as_dict(op), indent=2))
            return
        self._print_plan(op)
        if op.awaiting:
            self.stdout.write(f"waiting for a person: {op.awaiting_prompt}")
        for s in op.steps.select_related("host").order_by("position"):
            self.stdout.write(
                f"  step {s.position} [{s.phase}] {s.state}: {s.host.name if s.host else '-'}: "
                f"{s.script or s.title} -> exit {s.exit_status} {s.verify_message}"
            )
            for line in (s.stdout + s.stderr).strip().splitlines()[:20]:
                self.stdout.write(f"      | {line}")
        self.stdout.write(f"result: {op.result}")

    def do_list(self, o):
        ops = Operation.objects.all() if o["all"] else Operation.objects.all()[:100]
        if o["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "id": op.pk,
                            "kind": op.kind,
                            "target": op.target_label,
                            "state": op.state,
                            "result": op.result,
                        }
                        for op in ops
                    ],
                    indent=2,
                )
            )
            return
        ordered = sorted(ops, key=lambda op: (op.state not in ACTIVE_STATES, -op.pk))
        for op in ordered:
            self.stdout.write(
                f"#{op.pk:<5} {op.state:16} {op.kind:22} {op.target_label}  {op.result[:60]}"
            )
