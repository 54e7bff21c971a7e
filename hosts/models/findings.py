"""Findings as stored: what the health rules found open right now, one row per
dedup key, replaced per scope after each evaluation."""

from django.db import models

from hosts.models.inventory import Cluster, Host


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1}


class Finding(models.Model):
    """A current problem found by a health rule. Re-evaluated after every poll: a finding
    that no longer holds is deleted (alerts keep their own history)."""

    dedup_key = models.CharField(max_length=200, unique=True)
    scope = models.CharField(max_length=40, db_index=True)  # "host:12" | "cluster:3"
    kind = models.CharField(max_length=40, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity)
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    subject = models.CharField(max_length=200)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-first_seen_at"]

    def __str__(self):
        return f"[{self.severity}] {self.kind} {self.subject}"

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)
