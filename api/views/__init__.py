"""API views: thin. Each resolves a scoped queryset (api.access), validates with a
serializer and calls a service; nothing here decides health or writes inventory itself."""

from api.views.pages import metrics, revoke_token, token_page

__all__ = ["metrics", "revoke_token", "token_page"]
