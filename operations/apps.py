"""Django app config of operations."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        # Kinds register themselves on import; the registry must be full before any view,
        # task or command looks a kind up.
        from operations import actions

        actions.load_all()
