from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from customers.models import Customer
from hosts.models import Cluster, Host


class MaintenanceWindow(models.Model):
    """A scheduled window or an ad hoc silence on one host, cluster or customer: alerts
    inside it are recorded and shown, but do not page; what still fires at the end pages."""

    host = models.ForeignKey(Host, null=True, blank=True, on_delete=models.CASCADE)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200)
    silence = models.BooleanField(default=False, help_text="Ad hoc (a silence), not scheduled.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="alerts_window_ends_after_start",
            )
        ]

    def __str__(self):
        return f"{self.target_label}: {self.reason}"

    @property
    def target_label(self) -> str:
        return str(self.host or self.cluster or self.customer or "?")

    def clean(self):
        targets = [t for t in (self.host_id, self.cluster_id, self.customer_id) if t]
        if len(targets) != 1:
            raise ValidationError("choose exactly one of host, cluster or customer")


class Heartbeat(models.Model):
    """Last time a checker (the escalation auditor) ran and found everything in order."""

    name = models.CharField(max_length=60, unique=True)
    at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"


class Expectation(models.Model):
    """A finding someone's change will cause on purpose (an operation's plan predicts that a
    vhid moves to the peer), by dedup key: its alert is shown as expected and does not page
    until `ends_at`. Written by whoever plans the change; alerts only reads it. Anything not
    listed still pages."""

    dedup_key = models.CharField(max_length=300, db_index=True)
    owner = models.CharField(max_length=100, help_text='Who expects it, e.g. "operation #12".')
    reason = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return f"{self.dedup_key} expected by {self.owner}"

    @property
    def target_label(self) -> str:
        return self.owner
