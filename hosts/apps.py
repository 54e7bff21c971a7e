"""App config of hosts."""

from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "hosts"
