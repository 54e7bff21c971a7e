"""Signed, expiring one-click acknowledge links.

The token names the alert and the recipient, and is signed with SECRET_KEY under its own
salt, so a token minted for anything else (or edited by hand) does not verify."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "nyiops.alerts.ack-link"
MAX_AGE_SECONDS = 24 * 3600


class InvalidAckLink(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AckClaim:
    alert_id: int
    user_id: int


def make_token(alert_id: int, user_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"a": alert_id, "u": user_id})


def read_token(token: str) -> AckClaim:
    signer = signing.TimestampSigner(salt=SALT)
    try:
        data = signer.unsign_object(token, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise InvalidAckLink("this acknowledge link has expired") from exc
    except signing.BadSignature as exc:
        raise InvalidAckLink("this acknowledge link is not valid") from exc
    try:
        return AckClaim(alert_id=int(data["a"]), user_id=int(data["u"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidAckLink("this acknowledge link is not valid") from exc


def base_url() -> str:
    return getattr(settings, "NYIOPS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def ack_url(alert_id: int, user_id: int) -> str:
    return base_url() + reverse("alerts:ack-link", args=[make_token(alert_id, user_id)])


def alert_url(alert_id: int) -> str:
    return base_url() + reverse("alerts:detail", args=[alert_id])
