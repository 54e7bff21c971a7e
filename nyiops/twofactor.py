"""Second factor (RELIABILITY.md D7): TOTP with static backup codes, through django-otp.

Owns the rule "a user who must use 2FA reaches no page until this session is verified" (one
middleware, so no staff view can forget it), the verify page and the setup page (QR code as
an SVG image made with segno: no inline script or style, so the CSP holds). Who must use 2FA
is the policy named by settings.NYIOPS_2FA_POLICY (customers.twofactor); this module must not
decide roles itself, nor import any app.
"""

import logging
from base64 import b32encode
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlencode

import django_otp.middleware
import segno
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import router, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from nyiops import reauth, rows
from nyiops.redirects import safe_next

log = logging.getLogger("nyiops.security")

BACKUP_CODES = 10
# Views a user who still owes the second factor may reach: the way in, the way out, the
# load balancer's probe, and the token-only ack link (its token is the credential).
EXEMPT_VIEWS = frozenset(
    {
        "login",
        "logout",
        "otp-verify",
        "otp-setup",
        "healthz",
        "alerts:ack-link",
        "admin:logout",
    }
)
POLL_HEADER = "HTTP_X_NYIOPS_POLL"


@cache
def _policy():
    return import_string(settings.NYIOPS_2FA_POLICY)


def requires_two_factor(user) -> bool:
    return bool(_policy()(user))


@cache
def _device_sql(model, using: str) -> str:
    q, meta = rows.quote(using), model._meta
    return (
        f"SELECT {rows.columns(model, using, 'd')} FROM {q(meta.db_table)} d "  # noqa: S608
        f"WHERE d.{q(meta.pk.column)} = %s"
    )


class OTPMiddleware(django_otp.middleware.OTPMiddleware):
    """django-otp's middleware, whose read of the session's device (every request of a
    verified user) is sent as plain SQL (nyiops.rows says why). Which device the session
    names, and that it must be the user's own and confirmed, stay django-otp's: only
    `Device.from_persistent_id`'s query is replaced, with its answers (None for a label or
    id that names no device model or row)."""

    def _device_from_persistent_id(self, persistent_id: str):
        label, _, device_id = self._normalize_persistent_id(persistent_id).rpartition("/")
        try:
            model = apps.get_model(label)
            pk = int(device_id)
        except (ValueError, LookupError):
            return None
        if not issubclass(model, Device):
            return None
        using = router.db_for_read(model)
        row = rows.fetch_one(using, _device_sql(model, using), [pk])
        return rows.instance(model, row, using) if row is not None else None


class RequireVerifiedMiddleware:
    """After OTPMiddleware: a user who must use 2FA and has not verified this session is
    sent to the verify page (or to setup, without a device yet), whatever the URL, admin
    included. A widget refresh, or a client that does not take HTML (an API call riding on
    the session), gets 401 instead (poll-pause.js then reloads the page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in EXEMPT_VIEWS:
            return None
        if not requires_two_factor(user):
            return None
        if (
            request.META.get(POLL_HEADER) == "1"
            or request.headers.get("HX-Request")
            or not request.accepts("text/html")
        ):
            return HttpResponse("Two-factor verification required.", status=401)
        target = "otp-verify" if user_has_device(user) else "otp-setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
    )

    def clean_token(self):
        return "".join(self.cleaned_data["token"].split())


def mark_verified(request, device) -> None:
    """Bind the session to `device` (django-otp) and count this moment as a fresh
    authentication for nyiops.reauth when the password was entered moments ago."""
    otp_login(request, device)
    login_at = request.session.get("nyiops_login_at")
    window = timedelta(minutes=settings.NYIOPS_REAUTH_MINUTES)
    if login_at and timezone.now() - datetime.fromisoformat(login_at) <= window:
        reauth.stamp(request)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    if not user_has_device(request.user):
        return redirect(f"{reverse('otp-setup')}?{urlencode({'next': safe_next(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            mark_verified(request, device)
            log.info("2fa verified user=%s device=%s", request.user, device.persistent_id)
            return redirect(safe_next(request))
        log.warning("2fa failed user=%s", request.user)
        form.add_error("token", "That code is not valid (or was already used). Try again.")
    return render(
        request,
        "registration/otp_verify.html",
        {"form": form, "next": request.GET.get("next") or request.POST.get("next", "")},
        status=400 if form.errors else 200,
    )


def _pending_totp(user) -> TOTPDevice:
    """The unconfirmed device being set up: kept across reloads so the QR code a person
    already scanned stays valid until they confirm it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def qr_svg_data_uri(config_url: str) -> str:
    return segno.make(config_url, error="m").svg_data_uri(scale=4, border=2)


@login_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """Add an authenticator: scan, confirm with one code, receive backup codes once."""
    if user_has_device(request.user) and not request.user.is_verified():
        # Adding a device must not be a way around the one already there.
        return redirect(f"{reverse('otp-verify')}?{urlencode({'next': safe_next(request)})}")
    device = _pending_totp(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            codes = _confirm(request.user, device)
            mark_verified(request, device)
            log.info("2fa device added user=%s", request.user)
            return render(
                request,
                "registration/otp_backup_codes.html",
                {"codes": codes, "next": safe_next(request)},
            )
        form.add_error("token", "That code does not match: check the clock of your phone.")
    return render(
        request,
        "registration/otp_setup.html",
        {
            "form": form,
            "qr": qr_svg_data_uri(device.config_url),
            "secret": b32encode(device.bin_key).decode(),
            "next": request.GET.get("next") or request.POST.get("next", ""),
        },
        status=400 if form.errors else 200,
    )


@transaction.atomic
def _confirm(user, device: TOTPDevice) -> list[str]:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # New backup codes replace any old ones: the set shown last is the set that works.
    static, _ = StaticDevice.objects.get_or_create(
        user=user, name="backup codes", defaults={"confirmed": True}
    )
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes
