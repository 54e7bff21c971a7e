"""API token services: create (the secret is returned once), check, revoke.

A token reads `nyi_<prefix>_<secret>`. The prefix finds the row; the secret is compared by
its SHA-256 in constant time. Nothing here knows about HTTP: `api.authentication` maps
`TokenError` to a 401."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from audit.services import record

TOKEN_RE = re.compile(r"^nyi_([0-9a-f]{8})_([A-Za-z0-9_-]{20,64})$")
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)
MAX_LIFETIME_DAYS = 3650


class TokenError(Exception):
    """Why a presented token is refused: malformed, unknown, revoked or expired."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_token(
    user, *, name: str, expires_in_days: int | None = 90, read_only: bool = False, by=None
) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns the row and the plaintext, which is never stored."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"expires_in_days must be between 1 and {MAX_LIFETIME_DAYS}")
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=prefix,
        secret_sha256=_digest(secret),
        read_only=read_only,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    record(
        actor=by or user,
        action="api.token.create",
        target=token,
        after={
            "user": user.get_username(),
            "prefix": prefix,
            "read_only": read_only,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return token, f"nyi_{prefix}_{secret}"


def check_token(raw: str, *, now=None) -> ApiToken:
    """The usable token that `raw` is, or TokenError saying why not."""
    now = now or timezone.now()
    match = TOKEN_RE.match(raw or "")
    if not match:
        raise TokenError("malformed token")
    prefix, secret = match.groups()
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compare anyway when the prefix is unknown, so timing does not tell prefixes apart.
    expected = token.secret_sha256 if token else "0" * 64
    if not hmac.compare_digest(expected, _digest(secret)) or token is None:
        raise TokenError("invalid token")
    if token.revoked_at is not None:
        raise TokenError("token revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenError("token expired")
    if not token.user.is_active:
        raise TokenError("user inactive")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def revoke_token(token: ApiToken, *, by) -> ApiToken:
    """Revoke at once; idempotent (revoking twice keeps the first time)."""
    done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    if done:
        record(
            actor=by,
            action="api.token.revoke",
            target=token,
            before={"status": "active"},
            after={"status": "revoked", "prefix": token.prefix},
        )
    return token
