"""Alert pages for NOC and on-call staff (customers get 403), plus the token ack link.

Write views are POST-only with CSRF; htmx requests get the re-rendered row back, others a
redirect. Every change goes through alerts.services."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import dashboard, links, services
from alerts import messages as alert_messages
from alerts.forms import AckForm, AlertFilterForm, BulkAckForm, ResolveForm
from alerts.models import Alert
from nyiops.access import staff_required
from nyiops.roles import is_staff_role

PAGE_SIZE = 100


def _is_partial(request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _row(request, alert: Alert, status: int = 200):
    alert = Alert.objects.select_related("acknowledged_by", "host", "cluster").get(pk=alert.pk)
    context = {"alert": alert, "bulk": request.POST.get("bulk") == "1"}
    return render(request, "alerts/partials/alert_row.html", context, status=status)


@staff_required
@require_GET
def alert_list(request):
    form = AlertFilterForm(request.GET or None)
    qs = Alert.objects.select_related("acknowledged_by", "host", "cluster", "customer")
    if form.is_valid():
        qs = form.filter(qs)
    elif not request.GET:
        qs = qs.open()
    page = Paginator(qs.order_by("-opened_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "alerts/alert_list.html", {"form": form, "page": page, "bulk": True})


@staff_required
@require_GET
def alert_detail(request, pk):
    alert = get_object_or_404(
        Alert.objects.select_related("host", "cluster", "customer", "parent", "acknowledged_by"),
        pk=pk,
    )
    context = dashboard.alert_detail(alert) | {
        "headline": alert_messages.headline(alert),
        "expectation": alert_messages.expectation(alert),
    }
    return render(request, "alerts/alert_detail.html", context)


@staff_required
@require_POST
def ack(request, pk):
    alert = get_object_or_404(Alert, pk=pk)
    form = AckForm(request.POST)
    if not form.is_valid():
        return (
            _row(request, alert, status=400)
            if _is_partial(request)
            else redirect("alerts:detail", pk)
        )
    try:
        services.acknowledge_alert(
            alert,
            by=request.user,
            note=form.cleaned_data["note"],
            eta_minutes=form.cleaned_data["eta_minutes"],
        )
    except services.AlertStateError as exc:
        messages.warning(request, str(exc))
    return _row(request, alert) if _is_partial(request) else redirect("alerts:detail", pk)


@staff_required
@require_POST
def resolve(request, pk):
    alert = get_object_or_404(Alert, pk=pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_alert(alert, by=request.user, note=form.cleaned_data["note"])
        except services.AlertStateError as exc:
            messages.warning(request, str(exc))
    return _row(request, alert) if _is_partial(request) else redirect("alerts:detail", pk)


@staff_required
@require_POST
def bulk_ack(request):
    open_ids = Alert.objects.open().values_list("pk", flat=True)
    form = BulkAckForm(request.POST, open_ids=list(open_ids))
    if form.is_valid():
        done = services.bulk_acknowledge(
            form.cleaned_data["alert"], by=request.user, note=form.cleaned_data["note"]
        )
        messages.success(request, f"Acknowledged {len(done)} alert(s).")
    else:
        messages.error(request, "Choose open alerts to acknowledge.")
    return redirect(request.POST.get("next") or "alerts:list")


@staff_required
@require_GET
def oncall_page(request):
    now = timezone.now()
    return render(
        request,
        "alerts/oncall.html",
        {
            "mine": dashboard.my_open_alerts(request.user),
            "schedules": dashboard.schedules(now),
            "now": now,
        }
        | dashboard.open_alerts(),
    )


@staff_required
@require_GET
def open_partial(request):
    return render(request, "alerts/partials/open_alerts.html", dashboard.open_alerts())


@require_http_methods(["GET", "POST"])
def ack_link(request, token):
    """One-click acknowledge from a page: the signed token is the only credential.

    GET shows the alert and one button (mail scanners prefetch links, and a GET must not
    change anything); POST acknowledges as the recipient the token names."""
    try:
        claim = links.read_token(token)
    except links.InvalidAckLink as exc:
        return _refused(request, exc.reason)
    alert = Alert.objects.filter(pk=claim.alert_id).first()
    user = get_user_model().objects.filter(pk=claim.user_id, is_active=True).first()
    if alert is None or user is None or not is_staff_role(user):
        return _refused(request, "this acknowledge link is not valid")
    done = False
    if request.method == "POST":
        try:
            services.acknowledge_alert(alert, by=user, note="via one-click link", via="link")
            done = True
        except services.AlertStateError:
            done = False
        alert.refresh_from_db()
    return render(
        request,
        "alerts/ack_link.html",
        {
            "alert": alert,
            "recipient": user,
            "done": done,
            "headline": alert_messages.headline(alert),
        },
    )


def _refused(request, reason: str):
    return render(request, "alerts/ack_link_refused.html", {"reason": reason}, status=403)
