"""Session lifetimes (RELIABILITY.md D8): an idle timeout that background polling does not
extend, and an absolute lifetime that nothing extends.

A person's request stamps the session; htmx refreshes of live widgets (marked with the
`X-Nyiops-Poll` header) do not. So a NOC tab left open logs out after
NYIOPS_IDLE_TIMEOUT_MINUTES without anyone at it, unless its user is in the Wallboard group,
made for screens that are meant to be watched, not used.

Absolute lifetime: Django's session expiry counts from the last session write, and the idle
stamp writes the session once a minute, so SESSION_COOKIE_AGE alone would slide forever. The
login time is kept in the session and the session's expiry is pinned to a date at login;
after SESSION_COOKIE_AGE (12 h) the session ends, however busy the user, wallboards included.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone

from nyiops.roles import is_wallboard

SESSION_KEY = "nyiops_last_activity"
LOGIN_AT_KEY = "nyiops_login_at"
POLL_HEADER = "HTTP_X_NYIOPS_POLL"
# Stamping costs a session write; once a minute is precise enough for a 30-minute timeout.
STAMP_EVERY = timedelta(seconds=60)


def _lifetime() -> timedelta:
    return timedelta(seconds=settings.SESSION_COOKIE_AGE)


@receiver(user_logged_in)
def _pin_session_lifetime(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is None:
        return
    now = timezone.now()
    session[LOGIN_AT_KEY] = now.isoformat()
    # A date, not an age: Django then never recomputes it from the last write.
    session.set_expiry(now + _lifetime())


def _expired(request, polling: bool, reason: str):
    logout(request)  # flushes the session server-side
    if polling or getattr(request, "htmx", False):
        # A widget's refresh: 401 makes poll-pause.js reload into the login page.
        return HttpResponse(reason, status=401)
    return redirect(f"{resolve_url(settings.LOGIN_URL)}?next={request.path}")


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now()
        polling = request.META.get(POLL_HEADER) == "1"
        login_at = request.session.get(LOGIN_AT_KEY)
        # A session from before the login stamp existed has no known start: end it.
        if login_at is None or now - datetime.fromisoformat(login_at) >= _lifetime():
            return _expired(request, polling, "Session ended: log in again.")
        stamp = request.session.get(SESSION_KEY)
        last = datetime.fromisoformat(stamp) if stamp else None
        idle = timedelta(minutes=settings.NYIOPS_IDLE_TIMEOUT_MINUTES)
        # Group membership is looked up only when the timeout would fire: no extra query on
        # ordinary requests.
        if last is not None and now - last > idle and not is_wallboard(user):
            return _expired(request, polling, "Session expired after inactivity.")
        if not polling and (last is None or now - last >= STAMP_EVERY):
            request.session[SESSION_KEY] = now.isoformat()
        return self.get_response(request)
