"""App config of hosts: wires the dashboard generation's signals (hosts.dashboard.generation)."""

from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "hosts"

    def ready(self):
        from hosts.dashboard.generation import connect

        connect()
