"""Error responses of the API: always JSON, always 4xx for bad input, naming the field.

DRF already answers `{"field": ["message"]}` for validation errors and `{"detail": ...}` for
the rest; this adds the cases it leaves to Django (an oversized body, a model-level
ValidationError) so they never become a 500 or an HTML page."""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


@csrf_exempt  # a 404 for any method; nothing is read or written
def not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found."}, status=404)
