"""HAProxy backends and servers as observed on a load balancer."""

from django.db import models

from hosts.models.inventory import Host
from hosts.models.observed import Observed


class HaproxyBackend(Observed):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="haproxy_backends")
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, blank=True)  # UP | DOWN, from the BACKEND row
    scur = models.IntegerField(null=True)
    servers_up = models.PositiveSmallIntegerField(default=0)
    servers_total = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "name"], name="haproxy_backend_once")
        ]
        ordering = ["host", "name"]

    def __str__(self):
        return f"{self.host} {self.name}"


class HaproxyServer(Observed):
    backend = models.ForeignKey(HaproxyBackend, on_delete=models.CASCADE, related_name="servers")
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, blank=True)  # UP | DOWN | DRAIN | MAINT | no check
    weight = models.IntegerField(null=True)
    check_status = models.CharField(max_length=20, blank=True)
    scur = models.IntegerField(null=True)
    admin_state = models.IntegerField(null=True)
    op_state = models.IntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["backend", "name"], name="haproxy_server_once")
        ]
        ordering = ["backend", "name"]

    def __str__(self):
        return f"{self.backend.name}/{self.name} {self.status}"
