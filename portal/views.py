"""The customer portal. Every queryset here goes through customers.scoping.scope(), and the
customer always comes from `customer_of(request.user)`, never from the URL or a form.

Views are thin: resolve the object through scope (another tenant's id and a missing id are
the same 404), validate a form, call a service, render. Widgets share their context
function with the page (portal.widgets) and answer 204 when the client shows this version.
"""

from django.contrib import messages
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import team
from customers.access import customer_required
from customers.models import JailRequest, Membership
from customers.scoping import customer_of, scope
from hosts.models import Host, Jail
from hosts.views import VERSION_HEADER, is_partial, unchanged
from portal import jail_requests, self_service
from portal import widgets as portal_data
from portal.forms import InviteForm, JailRequestForm


def widget_context(name: str, customer, data: dict | None = None) -> dict:
    func, template, every = portal_data.WIDGETS[name]
    return {
        "w": data if data is not None else func(customer),
        "widget": name,
        "widget_url": reverse(f"customers:widget-{name}"),
        "every": every,
        "template": template,
    }


@customer_required
@require_GET
def portal(request):
    customer = customer_of(request.user)
    widgets = {name: widget_context(name, customer) for name in portal_data.WIDGETS}
    return render(
        request,
        "customers/portal.html",
        {
            "customer": customer,
            "widgets": widgets,
            "hosts": scope(Host.objects.all(), request.user).order_by("name"),
        },
    )


@customer_required
@require_GET
def widget(request, name: str):
    if not is_partial(request):
        return redirect("customers:portal")
    ctx = widget_context(name, customer_of(request.user))
    if unchanged(request, ctx["w"]["version"]):
        return HttpResponse(status=204)
    response = render(request, ctx["template"], {"c": ctx})
    response[VERSION_HEADER] = ctx["w"]["version"]
    return response


@customer_required
@require_GET
def host_detail(request, host_id: int):
    host = get_object_or_404(scope(Host.objects.all(), request.user), pk=host_id)
    return render(request, "customers/host_detail.html", {"host": host})


@customer_required
@require_http_methods(["GET", "POST"])
def request_new(request):
    """The jail request form. "Preview" shows the placement and creates nothing; "Send"
    creates the request (re-checking everything) and goes to its page."""
    customer = customer_of(request.user)
    initial = {}
    source = request.GET.get("twin_of", "")
    if source.isdigit():
        initial = {"purpose": "twin", "twin_of": source}
    form = JailRequestForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid() and request.POST.get("send"):
        try:
            req = jail_requests.create(customer, request.user, form.cleaned_data)
        except jail_requests.Refused as exc:
            for field, message in exc.errors.items():
                form.add_error(None if field not in form.fields else field, message)
        else:
            messages.success(request, f"Request for {req.name} sent: the NOC reviews it.")
            return redirect("customers:request", req.pk)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(
        request,
        "customers/request_form.html",
        {"form": form, "preview": form.preview, "customer": customer},
        status=status,
    )


def _own_request(request, request_id: int) -> JailRequest:
    return get_object_or_404(
        scope(JailRequest.objects.select_related("host"), request.user), pk=request_id
    )


@customer_required
@require_GET
def request_detail(request, request_id: int):
    req = _own_request(request, request_id)
    c = {
        "w": portal_data.request_status(req),
        "widget": "request-status",
        "widget_url": reverse("customers:request-status", args=[req.pk]),
        "every": 3,
    }
    return render(request, "customers/request_detail.html", {"req": req, "c": c})


@customer_required
@require_GET
def request_status(request, request_id: int):
    req = _own_request(request, request_id)
    if not is_partial(request):
        return redirect("customers:request", req.pk)
    w = portal_data.request_status(req)
    if unchanged(request, w["version"]):
        return HttpResponse(status=204)
    c = {
        "w": w,
        "widget": "request-status",
        "widget_url": reverse("customers:request-status", args=[req.pk]),
        "every": 3,
    }
    response = render(request, "customers/partials/request_status.html", {"req": req, "c": c})
    response[VERSION_HEADER] = w["version"]
    return response


@customer_required
@require_POST
def request_cancel(request, request_id: int):
    req = _own_request(request, request_id)
    try:
        jail_requests.cancel(req.pk, request.user)
    except jail_requests.Refused as exc:
        messages.error(request, " ".join(exc.errors.values()))
    else:
        messages.success(request, f"Request for {req.name} withdrawn.")
    return redirect("customers:request", req.pk)


def _admin_only(request):
    if not team.is_customer_admin(request.user):
        raise PermissionDenied("your company's portal admins only")


@customer_required
@require_http_methods(["GET", "POST"])
def team_page(request):
    _admin_only(request)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = team.invite(request.user, **form.cleaned_data)
        except team.TeamError as exc:
            form.add_error("username", str(exc))
        else:
            messages.success(
                request, f"{user.username} invited: they get an e-mail to set a password."
            )
            return redirect("customers:team")
    members = scope(Membership.objects.select_related("user"), request.user).order_by(
        "user__username"
    )
    return render(request, "customers/team.html", {"form": form, "members": members})


@customer_required
@require_POST
def team_remove(request, user_id: int):
    _admin_only(request)
    membership = get_object_or_404(
        scope(Membership.objects.select_related("user", "customer"), request.user), user_id=user_id
    )
    try:
        team.remove(request.user, membership)
    except team.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.username} removed.")
    return redirect("customers:team")


class Welcome(PasswordResetConfirmView):
    """The invite link: an invited user chooses a password, then logs in."""

    template_name = "customers/welcome.html"
    success_url = "/login/"


@customer_required
@require_POST
def jail_action(request, jail_id: int):
    jail = get_object_or_404(
        scope(Jail.objects.present().select_related("host"), request.user, field="host__customer"),
        pk=jail_id,
    )
    verb = request.POST.get("action", "")
    try:
        self_service.jail_action(request.user, jail, verb)
    except self_service.NotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{verb.title()} of {jail.name} queued: the list updates itself.")
    return redirect("customers:portal")


@customer_required
@require_http_methods(["GET", "POST"])
def jail_destroy(request, jail_id: int):
    """Destroy needs the NOC: this asks for it (a planned operation), after the customer
    types the jail's name."""
    jail = get_object_or_404(
        scope(Jail.objects.present().select_related("host"), request.user, field="host__customer"),
        pk=jail_id,
    )
    error = ""
    if request.method == "POST":
        try:
            self_service.request_destroy(request.user, jail, request.POST.get("confirm", ""))
        except self_service.NotAllowed as exc:
            error = str(exc)
        else:
            messages.success(
                request, f"Asked the NOC to destroy {jail.name}; a final snapshot is kept."
            )
            return redirect("customers:portal")
    return render(
        request,
        "customers/jail_destroy.html",
        {"jail": jail, "error": error},
        status=400 if error else 200,
    )


@customer_required
@require_http_methods(["GET", "POST"])
def jail_resize(request, jail_id: int):
    """Resize needs the NOC: this asks for it (a planned operation)."""
    jail = get_object_or_404(
        scope(Jail.objects.present().select_related("host"), request.user, field="host__customer"),
        pk=jail_id,
    )
    error = ""
    if request.method == "POST":
        size = request.POST.get("size_gb", "")
        try:
            if not size.isdigit() or not 1 <= int(size) <= 100_000:
                raise self_service.NotAllowed("Give the new size in whole GiB (1-100000).")
            self_service.request_resize(request.user, jail, int(size))
        except self_service.NotAllowed as exc:
            error = str(exc)
        else:
            messages.success(request, f"Asked the NOC to resize {jail.name} to {size} GiB.")
            return redirect("customers:portal")
    return render(
        request,
        "customers/jail_resize.html",
        {"jail": jail, "error": error},
        status=400 if error else 200,
    )
