"""manage.py api_tokens create|list|revoke: API tokens for operators and scripts (CI,
Grafana, Alertmanager). The same services as the token page; the secret is printed once."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token; prints it once")
        create.add_argument("--user", required=True)
        create.add_argument("--name", required=True)
        create.add_argument("--expires-days", type=int, default=90)
        create.add_argument("--no-expiry", action="store_true")
        create.add_argument("--read-only", action="store_true")
        listing = sub.add_parser("list", help="tokens (never their secrets)")
        listing.add_argument("--user")
        listing.add_argument("--json", action="store_true")
        revoke = sub.add_parser("revoke", help="revoke by prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, user, name, expires_days, no_expiry, read_only, **_):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no user named {user!r}")
        try:
            token, secret = tokens.create_token(
                owner,
                name=name,
                expires_in_days=None if no_expiry else expires_days,
                read_only=read_only,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        expiry = token.expires_at.isoformat() if token.expires_at else "never"
        self.stderr.write(f"token {token.prefix} for {user}, expires {expiry}; shown once:")
        self.stdout.write(secret)

    def _list(self, *, user=None, json=False, **_):
        qs = ApiToken.objects.select_related("user")
        if user:
            qs = qs.filter(user__username=user)
        rows = [
            {
                "prefix": t.prefix,
                "user": t.user.get_username(),
                "name": t.name,
                "read_only": t.read_only,
                "status": t.status,
                "created_at": t.created_at.isoformat(),
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            }
            for t in qs
        ]
        if json:
            self.stdout.write(_dumps(rows))
            return
        for r in rows:
            self.stdout.write(
                f"{r['prefix']}  {r['status']:8} {r['user']:20} {r['name']:20} "
                f"{'ro' if r['read_only'] else 'rw'}  expires {r['expires_at'] or 'never'}"
            )

    def _revoke(self, *, prefix, **_):
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"no token with prefix {prefix!r}")
        tokens.revoke_token(token, by=None)
        self.stdout.write(f"token {prefix} revoked")


def _dumps(rows) -> str:
    return json.dumps(rows, indent=2)
