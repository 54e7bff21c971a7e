"""App config of alerts: listens to hosts.signals.findings_updated (hosts never imports alerts)."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and on-call"

    def ready(self):
        # Imported here because models can be imported only once the registry is ready.
        from alerts.receivers import on_findings_updated
        from hosts.signals import findings_updated

        findings_updated.connect(on_findings_updated, dispatch_uid="alerts.sync_alerts")
