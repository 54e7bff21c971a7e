"""The project package as an app: only so its signal receivers (security log) and management
commands (rotate_keys) are loaded. It holds no models and imports no app at module level."""

from django.apps import AppConfig


class NyiopsConfig(AppConfig):
    name = "nyiops"
    verbose_name = "nyiops"

    def ready(self):
        # Connect the signal receivers: security log, session lifetime pinned at login.
        from nyiops import auth, idle  # noqa: F401
