"""Step-up re-authentication for dangerous actions (RELIABILITY.md D7, ASVS 4.3.x).

`recent_auth_required` guards a view: the user must have entered their password and a
second-factor code within settings.NYIOPS_REAUTH_MINUTES (default 15), either at login or on
the re-authentication page this module owns. Apply it to host-key approval, operation
approval, CARP maintenance and anything else that changes what reaches customers' hosts:

    from nyiops.reauth import recent_auth_required

    @noc_required
    @recent_auth_required
    @require_POST
    def approve(request, ...): ...

It must not decide roles (the access decorators do) and imports no app.
"""

import logging
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from nyiops.redirects import is_local, safe_next

log = logging.getLogger("nyiops.security")

SESSION_KEY = "nyiops_reauth_at"


def window() -> timedelta:
    return timedelta(minutes=settings.NYIOPS_REAUTH_MINUTES)


def stamp(request) -> None:
    request.session[SESSION_KEY] = timezone.now().isoformat()


def has_recent_auth(request) -> bool:
    value = request.session.get(SESSION_KEY)
    if not value:
        return False
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return False
    return timezone.now() - at <= window()


def _back_to(request) -> str:
    """Where to return after re-authenticating: the page itself for a GET; for a POST (which
    cannot be replayed by a redirect) the page the form was on."""
    if request.method == "GET":
        return request.get_full_path()
    referer = request.META.get("HTTP_REFERER", "")
    if is_local(request, referer):
        return referer
    return reverse("home")


def _step_up(request, back_to: str):
    log.info("step-up required user=%s path=%s", request.user, request.path)
    if request.method != "GET":
        messages.warning(request, "Confirm it is you (password and code), then repeat the action.")
    return redirect(f"{reverse('reauth')}?{urlencode({'next': back_to})}")


def step_up_redirect(request):
    """The way to the re-authentication page and back, for a view that decides per object
    (an operation's kind) whether it needs a recent re-auth; `recent_auth_required` is the
    decorator for views that always do."""
    return _step_up(request, _back_to(request))


def recent_auth_required(view):
    """Refuse the view until the user re-authenticated within the window; send them to the
    re-authentication page and back. A POST is not carried out: they submit it again."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if has_recent_auth(request):
            return view(request, *args, **kwargs)
        return _step_up(request, _back_to(request))

    return wrapper


class StepUpAdminMixin:
    """For ModelAdmins of who-may-do-what (users, groups, 2FA devices): any change needs a
    recent re-auth too, so a borrowed session cannot grant itself more. Reading does not."""

    def _guard(self, request, view, *args, **kwargs):
        if request.method == "POST" and not has_recent_auth(request):
            # Back to the same admin page (a GET); the person submits the form again.
            return _step_up(request, request.get_full_path())
        return view(request, *args, **kwargs)

    def changeform_view(self, request, *args, **kwargs):
        return self._guard(request, super().changeform_view, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._guard(request, super().delete_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):  # bulk actions are POSTs here
        return self._guard(request, super().changelist_view, *args, **kwargs)

    def user_change_password(self, request, *args, **kwargs):  # UserAdmin's own view
        return self._guard(request, super().user_change_password, *args, **kwargs)


def require_step_up_in_admin(site, models) -> None:
    """Re-register each model's existing ModelAdmin with StepUpAdminMixin in front."""
    for model in models:
        current = type(site._registry[model])
        if issubclass(current, StepUpAdminMixin):
            continue
        site.unregister(model)
        site.register(model, type(f"StepUp{current.__name__}", (StepUpAdminMixin, current), {}))


class ReauthForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True})
    )
    token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def reauth(request):
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        # Through authenticate(), so django-axes counts and locks wrong passwords here too.
        checked = authenticate(
            request, username=user.get_username(), password=form.cleaned_data["password"]
        )
        device = None
        if checked is not None and checked.pk == user.pk:
            token = "".join(form.cleaned_data["token"].split())
            device = match_token(user, token) if user_has_device(user) else None
        if device is not None:
            otp_login(request, device)
            stamp(request)
            log.info("step-up ok user=%s", user)
            return redirect(safe_next(request))
        log.warning("step-up failed user=%s", user)
        form.add_error(None, "Password or code is not right.")
    return render(
        request,
        "registration/reauth.html",
        {
            "form": form,
            "next": request.GET.get("next") or request.POST.get("next", ""),
            "minutes": settings.NYIOPS_REAUTH_MINUTES,
            "has_device": user_has_device(request.user),
        },
        status=400 if form.errors else 200,
    )
