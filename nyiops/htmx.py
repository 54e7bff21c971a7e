"""What every view needs to know about an htmx request: whether it wants a fragment, and
whether the fragment the client holds is still current (then the view answers 204 and htmx
keeps what it shows). One copy for the NOC widgets, alert rows and portal partials.
Must not: import any app, or render anything."""

# A live widget's client sends back the version it holds in this header; the view sends the
# current one in it too (the page's script reads it from the response).
VERSION_HEADER = "X-Nyiops-Version"


def is_partial(request) -> bool:
    """An htmx request for a fragment. Boosted navigation and history restores need the
    whole page: htmx sends HX-Request on those too."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.boosted and not htmx.history_restore_request)


def unchanged(request, version: str) -> bool:
    """A partial request whose client already holds `version`."""
    return is_partial(request) and request.headers.get(VERSION_HEADER) == version
