"""Routes of the api app that live outside /api/ (included at the site root)."""

from django.urls import path

from api.views import pages

urlpatterns = [
    path("metrics", pages.metrics, name="metrics"),
    path("account/tokens/", pages.token_page, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", pages.revoke_token, name="api-token-revoke"),
]
