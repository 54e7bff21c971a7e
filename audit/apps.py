"""App config of audit."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self):
        from audit import admin_log

        admin_log.install()
