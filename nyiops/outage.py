"""What the web answers while the database is unreachable (RELIABILITY A6).

Owns the clean 503: a plain page (no traceback, no database access while rendering, a
Retry-After) for OperationalError/InterfaceError, whether the view raised it or a middleware
did (the session and user load before any view runs). It must not swallow other errors, and
it never touches the database: it runs exactly when the database is gone.

Recovery needs nothing here: a broken persistent connection is marked unusable, and
CONN_HEALTH_CHECKS makes the next request open a fresh one (settings)."""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10


def database_unavailable(request=None, exc=None) -> HttpResponse:
    if request is not None and request.path.startswith("/healthz"):
        # A probe that sent a session cookie met the error in the session middleware,
        # before its view: it still gets the reason, as JSON.
        reason = first_line(exc) if exc is not None else "unavailable"
        response = JsonResponse(
            {"status": "unavailable", "database": f"unreachable: {reason}"}, status=503
        )
    else:
        # Rendered without a request: context processors would query the database.
        body = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _remember_database_error(sender, request=None, **kwargs):
    # Sent from inside Django's exception handler, wherever in the stack the error was
    # raised; the middleware below reads it once the inner layers made their 500.
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_ERRORS):
        request.nyiops_database_error = exc


got_request_exception.connect(_remember_database_error, dispatch_uid="nyiops-outage")


class DatabaseUnavailableMiddleware:
    """The outermost middleware: a database error raised by a view or by any middleware
    inside it becomes the 503 page, also with DEBUG on (where Django would otherwise show
    its technical 500 page with the traceback)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, "nyiops_database_error", None)
        if exc is not None and response.status_code == 500:
            log.warning(
                "database unavailable during %s %s: %s",
                request.method,
                request.path,
                first_line(exc),
            )
            return database_unavailable(request, exc)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            log.warning(
                "database unavailable during %s %s: %s",
                request.method,
                request.path,
                first_line(exception),
            )
            return database_unavailable(request, exception)
        return None


def first_line(exc: BaseException) -> str:
    """The driver's first line ('connection failed: ... Connection refused'): the reason,
    without credentials (psycopg never prints the password)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """handler500: runs inside Django's exception handler, so sys.exc_info() is the error.
    A database error raised by a middleware (session, user, idle timeout) lands here."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(request, exc)
    try:
        body = loader.get_template(template_name).render()
    except Exception:  # no 500 template, or it failed: the plainest answer
        body = "<h1>Server Error (500)</h1>"
    return HttpResponseServerError(body)
