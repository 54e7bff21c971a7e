"""The request id: one short string per web request, on every audit row and log line it causes.

Owns the context variable and the middleware that fills it. It must not import any app: the
audit service reads `current()` when a caller does not pass a request id, and workers (no
request) leave it empty."""

import contextvars
import logging
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("nyiops_request_id", default="")

HEADER = "HTTP_X_REQUEST_ID"
RESPONSE_HEADER = "X-Request-ID"
# A proxy's id is kept only when it cannot smuggle anything into logs or the audit trail.
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def current() -> str:
    """The id of the request this code runs for, or "" outside a request."""
    return _request_id.get()


def _from_proxy_or_new(request) -> str:
    offered = request.META.get(HEADER, "")
    return offered if _SAFE.match(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = _from_proxy_or_new(request)
        token = _request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[RESPONSE_HEADER] = request.id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (empty outside a request) for the log format."""

    def filter(self, record):
        record.request_id = _request_id.get() or "-"
        return True
