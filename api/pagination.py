"""Cursor pagination: stable pages while rows are being added (status events arrive every
few seconds), and no OFFSET scans at fleet scale."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "pk"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class NewestFirstPagination(IdCursorPagination):
    ordering = "-pk"
