"""Idle-session timeout that background polling does not extend (RELIABILITY.md D8).

A person's request stamps the session; htmx refreshes of live widgets (marked with the
`X-Nyiops-Poll` header) do not. So a NOC tab left open logs out after
NYIOPS_IDLE_TIMEOUT_MINUTES without anyone at it, unless its user is in the Wallboard group,
made for screens that are meant to be watched, not used.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone

from nyiops.roles import is_wallboard

SESSION_KEY = "nyiops_last_activity"
POLL_HEADER = "HTTP_X_NYIOPS_POLL"
# Stamping costs a session write; once a minute is precise enough for a 30-minute timeout.
STAMP_EVERY = timedelta(seconds=60)


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now()
        polling = request.META.get(POLL_HEADER) == "1"
        stamp = request.session.get(SESSION_KEY)
        last = datetime.fromisoformat(stamp) if stamp else None
        idle = timedelta(minutes=settings.NYIOPS_IDLE_TIMEOUT_MINUTES)
        # Group membership is looked up only when the timeout would fire: no extra query on
        # ordinary requests.
        if last is not None and now - last > idle and not is_wallboard(user):
            logout(request)  # flushes the session server-side
            if polling or getattr(request, "htmx", False):
                # A widget's refresh: 401 makes poll-pause.js reload into the login page.
                return HttpResponse("Session expired after inactivity.", status=401)
            return redirect(f"{resolve_url(settings.LOGIN_URL)}?next={request.path}")
        if not polling and (last is None or now - last >= STAMP_EVERY):
            request.session[SESSION_KEY] = now.isoformat()
        return self.get_response(request)
