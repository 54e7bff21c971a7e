"""gmirror mirrors and their components as observed on a host."""

from django.db import models

from hosts.models.inventory import Host
from hosts.models.observed import Observed


class Mirror(Observed):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="mirrors")
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=20)  # COMPLETE | DEGRADED | STARTING ...
    balance = models.CharField(max_length=20, blank=True)
    components_count = models.PositiveSmallIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="mirror_once")]
        ordering = ["host", "name"]

    def __str__(self):
        return f"{self.host} mirror/{self.name} {self.state}"


class MirrorComponent(models.Model):
    mirror = models.ForeignKey(Mirror, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=20, blank=True)  # ACTIVE | SYNCHRONIZING | ...
    flags = models.JSONField(default=list, blank=True)
    synchronized_pct = models.PositiveSmallIntegerField(null=True)

    class Meta:
        ordering = ["mirror", "name"]

    def __str__(self):
        return f"{self.name} {self.state}"
