"""What every view needs to know about an htmx request. The one place that decides whether a
request wants a fragment, so live widgets, row updates and portal partials agree.
Must not: import any app, or render anything."""


def is_partial(request) -> bool:
    """An htmx request for a fragment. Boosted navigation and history restores need the
    whole page: htmx sends HX-Request on those too."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.boosted and not htmx.history_restore_request)
