"""Where to send a user back to: `next` only when it stays on this site (no open redirect).
Used by the login-adjacent pages (2FA verify/setup, step-up re-auth); imports no app."""

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_local(request, target: str) -> bool:
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next(request, fallback: str = "home") -> str:
    """The `next` the user came from if it stays on this site, else the fallback."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if is_local(request, target) else resolve_url(fallback)
