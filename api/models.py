"""API tokens and Alertmanager receivers.

A token is shown once: only a lookup prefix and the SHA-256 of its secret are stored, so a
database dump gives nobody a usable token. A token acts exactly as its user (same scoping,
same roles); `read_only` additionally refuses every unsafe method. This module holds state
only; creating, checking and revoking tokens is `api.tokens`."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Customer
from hosts.models import Severity


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for (a script, Grafana).")
    prefix = models.CharField(max_length=12, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.prefix}… {self.name} ({self.user})"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class AlertmanagerReceiver(models.Model):
    """One Prometheus Alertmanager webhook target: POST /api/integrations/alertmanager/<id>/.

    Alerts it receives become findings of the scope `am:<id>:<fingerprint>` and then nyiops
    alerts through the normal policy. `customer`, when set, is the default tenant of alerts
    whose labels name no known customer, host or cluster."""

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        default=Severity.WARNING,
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
