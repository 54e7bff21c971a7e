"""App config of audit."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
