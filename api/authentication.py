"""DRF authentication by API token (`Authorization: Bearer nyi_...` or `Token nyi_...`).

The request then runs as the token's user, so every view scopes it exactly like that user's
pages; `request.auth` is the ApiToken (read-only flag, throttle key, audit note)."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from api.tokens import TokenError, check_token

SCHEMES = (b"bearer", b"token")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header: give 'Bearer <token>'")
        try:
            token = check_token(parts[1].decode("ascii", "replace"))
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="nyiops"'
