"""The two project-level pages: the home redirect (by role) and the load balancer's health
check. Imports no app: roles are groups defined in nyiops.roles."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from nyiops.roles import is_customer, is_staff_role


@login_required
def home(request):
    """Send each kind of user to their landing page."""
    if is_staff_role(request.user):
        return redirect("hosts:overview")
    if is_customer(request.user):
        return redirect("customers:portal")
    return HttpResponseForbidden("Your account has no role yet: ask the NOC to add you to one.")


@require_GET
def healthz(request):
    """Liveness for the load balancer: the web process runs and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
