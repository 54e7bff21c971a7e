"""Plain Django pages of the api app: /metrics for Prometheus, and the token page where a
person makes and revokes their own API tokens (the secret is shown once, in the response
to the POST that made it, and never again)."""

import hmac
import os

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from api import tokens
from api.forms import TokenForm
from api.metrics import StateCollector
from api.models import ApiToken
from customers.scoping import customer_of
from nyiops.roles import is_staff_role

STATE_REGISTRY = CollectorRegistry(auto_describe=False)
STATE_REGISTRY.register(StateCollector())


def _pipeline_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _metrics_allowed(request) -> bool:
    expected = settings.NYIOPS_METRICS_TOKEN
    if not expected:
        if settings.PRODUCTION:
            raise Http404("metrics are disabled: set NYIOPS_METRICS_TOKEN")
        return request.user.is_authenticated and is_staff_role(request.user)
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


@require_GET
def metrics(request):
    """Prometheus text exposition: pipeline instruments, then current state."""
    if not _metrics_allowed(request):
        response = HttpResponse(
            "401 Unauthorized: bearer token required\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="nyiops metrics"'
        return response
    body = generate_latest(_pipeline_registry()) + generate_latest(STATE_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _api_user(user) -> bool:
    return is_staff_role(user) or customer_of(user) is not None


@login_required
@require_http_methods(["GET", "POST"])
def token_page(request):
    if not _api_user(request.user):
        raise PermissionDenied("API tokens are for NOC, on-call and customer accounts.")
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        _token, new_secret = tokens.create_token(
            request.user,
            name=form.cleaned_data["name"],
            expires_in_days=form.cleaned_data["expires_in_days"],
            read_only=form.cleaned_data["read_only"],
        )
        form = TokenForm()
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "new_secret": new_secret,
            "tokens": ApiToken.objects.filter(user=request.user),
        },
        status=400 if request.method == "POST" and new_secret is None else 200,
    )
    if new_secret:
        response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@login_required
@require_POST
def revoke_token(request, pk: int):
    token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
    tokens.revoke_token(token, by=request.user)
    messages.success(request, f"Token {token.prefix}… ({token.name}) revoked.")
    return redirect("api-tokens")
