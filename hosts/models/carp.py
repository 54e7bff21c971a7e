"""CARP vhids as observed on a host (ifconfig), one row per interface and vhid."""

from django.db import models

from hosts.models.inventory import Host
from hosts.models.observed import Observed


class CarpVhid(Observed):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="carp_vhids")
    interface = models.CharField(max_length=32)
    vhid = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10)  # MASTER | BACKUP | INIT, as ifconfig prints
    advbase = models.PositiveSmallIntegerField(null=True)
    advskew = models.PositiveSmallIntegerField(null=True)
    vips = models.JSONField(default=list, blank=True)  # ["198.51.100.10/24", ...]
    peer = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "interface", "vhid"], name="carp_vhid_once")
        ]
        ordering = ["host", "vhid"]

    def __str__(self):
        return f"{self.host} vhid {self.vhid}@{self.interface} {self.state}"
