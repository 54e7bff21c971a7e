"""App config; `ready` registers the OpenAPI description of token authentication."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API, tokens, metrics and integrations"

    def ready(self):
        from api import schema  # noqa: F401  registers the OpenAPI auth extension
