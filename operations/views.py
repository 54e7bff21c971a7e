"""Operation pages: list, plan form, operation page with live progress, and the POST buttons.

Thin: resolve, validate, call operations.services, render. Staff read; NOC acts. Every write
is POST with CSRF and audited by the service. The live partial answers 204 when nothing
changed and stops polling (no trigger in the fragment) once the operation has ended."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nyiops.access import noc_required, staff_required
from operations import actions, services
from operations.choices import ACTIVE_STATES, OpState, Phase
from operations.models import Operation
from operations.stepup import recent_auth_for_risky_kinds

VERSION_HEADER = "X-Nyiops-Version"


def _request_id(request) -> str:
    return getattr(request, "request_id", "") or request.headers.get("X-Request-ID", "")[:64]


def _lists() -> dict:
    active = Operation.objects.filter(state__in=ACTIVE_STATES)
    running = list(active.exclude(state__in=(OpState.PLANNED, OpState.APPROVED)))
    waiting = list(active.filter(state__in=(OpState.PLANNED, OpState.APPROVED)))
    recent = list(Operation.objects.exclude(state__in=ACTIVE_STATES)[:50])
    text = "|".join(f"{o.pk}:{o.state}:{o.awaiting}" for o in running + waiting + recent)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return {"running": running, "waiting": waiting, "recent": recent, "version": version}


@staff_required
@require_GET
def operation_list(request):
    return render(request, "operations/list.html", _lists() | {"kinds": actions.all_actions()})


@staff_required
@require_GET
def list_live(request):
    context = _lists()
    if getattr(request, "htmx", None) and request.headers.get(VERSION_HEADER) == context["version"]:
        return HttpResponse(status=204)
    return render(request, "operations/partials/op_lists.html", context)


class PlanForm(forms.Form):
    kind = forms.ChoiceField(choices=())
    target = forms.CharField(max_length=200)
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (a.kind, f"{a.kind}: {a.title}") for a in actions.all_actions()
        ]


def _param_fields(kind: str):
    try:
        return actions.get(kind).params_form()
    except KeyError:
        return None


@noc_required
@require_http_methods(["GET", "POST"])
def plan(request):
    data = request.POST if request.method == "POST" else request.GET
    form = PlanForm(data or None, initial={"kind": data.get("kind"), "target": data.get("target")})
    kind = data.get("kind", "")
    params_form = _param_fields(kind)
    refused = None
    param_errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        raw = {k: v for k, v in request.POST.items() if k.startswith("p_")}
        params = {k[2:]: v for k, v in raw.items()}
        try:
            op = services.request_operation(
                form.cleaned_data["kind"],
                form.cleaned_data["target"],
                params,
                by=request.user,
                reason=form.cleaned_data["reason"],
                request_id=_request_id(request),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                if field in form.fields:
                    for error in errors:
                        form.add_error(field, error)
                else:  # a kind's parameter: shown beside its own input
                    param_errors.setdefault(field, []).extend(errors)
        except services.PlanRefused as exc:
            refused = exc
        else:
            messages.success(request, f"{op.label} planned: review it, then approve.")
            return redirect("operations:detail", op.pk)
    param_rows = []
    if params_form is not None:
        for name, field in params_form.fields.items():
            big = isinstance(field.widget, forms.Textarea)
            error = " ".join(param_errors.get(name, []))
            param_rows.append((name, field.help_text, data.get(f"p_{name}", ""), big, error))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "operations/plan.html",
        {
            "form": form,
            "param_rows": param_rows,
            "refused": refused,
            "kind": kind,
            "kinds": actions.all_actions(),
        },
        status=status,
    )


def _detail_context(op: Operation) -> dict:
    steps = list(op.steps.select_related("host").order_by("position"))
    forward = [s for s in steps if s.phase == Phase.FORWARD]
    done = sum(1 for s in forward if s.state in ("done", "skipped"))
    pct = 100 * done / len(forward) if forward else (100 if op.is_terminal else 0)
    end = op.finished_at or timezone.now()
    return {
        "elapsed_s": round((end - op.started_at).total_seconds()) if op.started_at else None,
        "op": op,
        "steps": steps,
        "events": list(op.events.all()),
        "pct": round(pct),
        "version": _version(op, steps),
        "action": actions.get(op.kind),
    }


def _version(op: Operation, steps) -> str:
    text = "|".join(
        [op.state, op.awaiting, op.progress_note, str(op.events.count())]
        + [f"{s.pk}:{s.state}" for s in steps]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@staff_required
@require_GET
def detail(request, pk):
    op = get_object_or_404(Operation, pk=pk)
    return render(request, "operations/detail.html", _detail_context(op))


@staff_required
@require_GET
def live(request, pk):
    op = get_object_or_404(Operation, pk=pk)
    context = _detail_context(op)
    htmx = getattr(request, "htmx", None)
    if htmx and request.headers.get(VERSION_HEADER) == context["version"]:
        return HttpResponse(status=204)
    return render(request, "operations/partials/progress.html", context)


def _act(request, pk, do, done_message):
    op = get_object_or_404(Operation, pk=pk)
    try:
        do(op)
    except services.OperationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done_message.format(op=op))
    return redirect("operations:detail", op.pk)


@noc_required
@recent_auth_for_risky_kinds
@require_POST
def approve(request, pk):
    return _act(
        request,
        pk,
        lambda op: services.approve(op, by=request.user, request_id=_request_id(request)),
        "{op.label} approved: it runs now.",
    )


@noc_required
@require_POST
def cancel(request, pk):
    return _act(
        request,
        pk,
        lambda op: services.cancel(op, by=request.user, request_id=_request_id(request)),
        "{op.label} cancelled.",
    )


@noc_required
@require_POST
def answer(request, pk):
    decision = request.POST.get("decision", "")
    return _act(
        request,
        pk,
        lambda op: services.answer(op, decision, by=request.user, request_id=_request_id(request)),
        "{op.label}: " + decision[:20],
    )
