"""Single-use, expiring one-click acknowledge links (and the plain alert URL).

A link is `BASE/alerts/ack/<public_id>/#<secret>`. The path names the link, never grants
anything; the secret sits in the fragment, which browsers do not send, so neither the web
server's access log nor a proxy sees it. The page's script (static/js/ack-link.js) puts the
fragment into the POST body; without JavaScript the person pastes it. The database keeps only
the secret's SHA-256, and a POST consumes the link (one conditional UPDATE), so a link works
once, for the person and alert it was made for, for 24 hours. Webhook payloads get no ack link
at all: they are read by systems, not by the person paged."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts.models import AckLink

MAX_AGE_SECONDS = 24 * 3600
KEEP_EXPIRED = timedelta(days=7)  # a refused link can still say "expired", for a week


class InvalidAckLink(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AckClaim:
    alert_id: int
    user_id: int


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(alert_id: int, user_id: int) -> tuple[AckLink, str]:
    """A new link for one recipient: the row, and the secret (returned once, never stored)."""
    secret = secrets.token_urlsafe(24)
    # One row per page sent: expired ones go here rather than in yet another sweeper.
    AckLink.objects.filter(expires_at__lt=timezone.now() - KEEP_EXPIRED).delete()
    link = AckLink.objects.create(
        public_id=secrets.token_urlsafe(12),
        token_hash=_hash(secret),
        alert_id=alert_id,
        recipient_id=user_id,
        expires_at=timezone.now() + timedelta(seconds=MAX_AGE_SECONDS),
    )
    return link, secret


def find(public_id: str) -> AckLink:
    """The link a GET names, if it can still be used (a GET never consumes it)."""
    link = AckLink.objects.filter(public_id=public_id).first()
    if link is None:
        raise InvalidAckLink("this acknowledge link is not valid")
    if link.used_at is not None:
        raise InvalidAckLink("this acknowledge link was already used")
    if link.expires_at <= timezone.now():
        raise InvalidAckLink("this acknowledge link has expired")
    return link


def redeem(public_id: str, secret: str) -> AckClaim:
    """Check the secret and consume the link, atomically: of two POSTs, one wins."""
    link = find(public_id)
    if not secret or not hmac.compare_digest(link.token_hash, _hash(secret)):
        raise InvalidAckLink("this acknowledge link is not valid")
    consumed = AckLink.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now())
    if consumed != 1:
        raise InvalidAckLink("this acknowledge link was already used")
    return AckClaim(alert_id=link.alert_id, user_id=link.recipient_id)


def base_url() -> str:
    return getattr(settings, "NYIOPS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def ack_url(alert_id: int, user_id: int) -> str:
    link, secret = issue(alert_id, user_id)
    return f"{base_url()}{reverse('alerts:ack-link', args=[link.public_id])}#{secret}"


def alert_url(alert_id: int) -> str:
    return base_url() + reverse("alerts:detail", args=[alert_id])
