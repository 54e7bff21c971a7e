"""What every API view shares: a body size cap, and ETags on reads (304 when unchanged)."""

import hashlib

from django.conf import settings
from django.http import HttpResponseNotModified
from django.utils.cache import quote_etag
from rest_framework import mixins, viewsets

from api.errors import PayloadTooLarge


def _etag_matches(header: str, etag: str) -> bool:
    return any(t.strip() in (etag, "*", f"W/{etag}") for t in header.split(","))


class ApiViewMixin:
    lookup_value_converter = "int"

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.NYIOPS_API_MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"Request body is {length} bytes; the limit is "
                f"{settings.NYIOPS_API_MAX_BODY_BYTES}."
            )
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method != "GET" or response.status_code != 200:
            return response
        # A strong ETag over the rendered body: a poller that sends If-None-Match gets a
        # 304 with no body when nothing it can see changed.
        response.render()
        etag = quote_etag(hashlib.sha256(response.content).hexdigest()[:32])
        if _etag_matches(request.headers.get("If-None-Match", ""), etag):
            not_modified = HttpResponseNotModified()
            not_modified["ETag"] = etag
            return not_modified
        response["ETag"] = etag
        return response


class ReadOnlyViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    pass


class InventoryViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    pass
