"""Jails as observed on a host: running (jls) or configured but stopped (jail.conf)."""

from django.db import models

from hosts.models.inventory import Host
from hosts.models.observed import Observed


class Jail(Observed):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="jails")
    name = models.CharField(max_length=64)
    jid = models.PositiveIntegerField(null=True)
    hostname = models.CharField(max_length=253, blank=True)
    path = models.CharField(max_length=300, blank=True)
    ipv4 = models.JSONField(default=list, blank=True)
    ipv6 = models.JSONField(default=list, blank=True)
    running = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="jail_once")]
        ordering = ["host", "name"]

    def __str__(self):
        return f"{self.host}:{self.name}"
