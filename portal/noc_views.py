"""The NOC side of jail requests: the approval queue. NOC only (customers get 403, D4).

Each pending request is shown with its placement re-computed now beside what the customer
saw, with a warning when they differ; approving may pick another of the customer's jail
hosts; rejecting needs a reason, which the customer reads.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from customers.choices import RequestStatus
from customers.models import JailRequest
from hosts.views import page_flags
from nyiops.access import noc_required
from portal import jail_requests, placement
from portal.forms import ApproveForm, RejectForm

QUEUE_LIMIT = 20  # the oldest first; each is re-computed on every view


@noc_required
@require_GET
def queue(request):
    waiting = JailRequest.objects.filter(status=RequestStatus.PENDING)
    pending = list(
        waiting.select_related("customer", "host", "requested_by", "twin_of__host").order_by(
            "created_at"
        )[:QUEUE_LIMIT]
    )
    rows = []
    addresses = placement.AddressBook.load()
    for req in pending:
        preview, changed = jail_requests.recheck(req, addresses=addresses)
        rows.append(
            {
                "req": req,
                "preview": preview,
                "changed": changed,
                "approve": ApproveForm(req=req),
                "reject": RejectForm(),
            }
        )
    recent = (
        JailRequest.objects.exclude(status=RequestStatus.PENDING)
        .select_related("customer", "host")
        .order_by("-updated_at")[:20]
    )
    return render(
        request,
        "customers/noc_queue.html",
        {
            "rows": rows,
            "recent": recent,
            "more": max(waiting.count() - len(rows), 0),
            **page_flags(),
        },
    )


@noc_required
@require_POST
def approve(request, request_id: int):
    req = get_object_or_404(JailRequest, pk=request_id)
    form = ApproveForm(request.POST, req=req)
    if not form.is_valid():
        messages.error(request, f"{req.name}: choose one of the customer's jail hosts.")
        return redirect("jailqueue:list")
    try:
        req = jail_requests.approve(req.pk, request.user, host_id=form.cleaned_data["host"])
    except jail_requests.Refused as exc:
        messages.error(request, f"{req.name} not approved: " + " ".join(exc.errors.values()))
    else:
        messages.success(request, f"{req.name} approved on {req.host.name}.")
    return redirect("jailqueue:list")


@noc_required
@require_POST
def reject(request, request_id: int):
    req = get_object_or_404(JailRequest, pk=request_id)
    form = RejectForm(request.POST)
    try:
        if not form.is_valid():
            raise jail_requests.Refused({"reason": "Say why: the customer reads it."})
        jail_requests.reject(req.pk, request.user, reason=form.cleaned_data["reason"])
    except jail_requests.Refused as exc:
        messages.error(request, f"{req.name} not rejected: " + " ".join(exc.errors.values()))
    else:
        messages.success(request, f"{req.name} rejected.")
    return redirect("jailqueue:list")
