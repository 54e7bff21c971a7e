"""Login security glue: the client address django-axes counts by, and the security log.

Owns how a client address is taken (from the socket, or from a configured number of trusted
proxies) and the log lines for login success, failure, lockout and logout. It must not decide
who may log in: django-axes (throttling) and nyiops.twofactor (second factor) do."""

import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

log = logging.getLogger("nyiops.security")


def client_ip(request) -> str:
    """The address to throttle. X-Forwarded-For is trusted only for the configured number of
    proxies, counted from the right (the entries they appended); anything to the left of
    that is the client's to forge."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    hops = settings.NYIOPS_TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]


def _ip(request) -> str:
    return client_ip(request) if request is not None else "-"


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    log.info("login ok user=%s ip=%s", user.get_username(), _ip(request))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    log.warning("login failed user=%s ip=%s", credentials.get("username", "?"), _ip(request))


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    log.warning(
        "login locked out user=%s ip=%s for %s after %d failures",
        username,
        ip_address,
        settings.AXES_COOLOFF_TIME,
        settings.AXES_FAILURE_LIMIT,
    )


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        log.info("logout user=%s ip=%s", user.get_username(), _ip(request))
