"""ZFS pools and their vdev trees as observed on a host."""

from django.db import models

from hosts.models.inventory import Host
from hosts.models.observed import Observed


class ZPool(Observed):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="zpools")
    name = models.CharField(max_length=64)
    health = models.CharField(max_length=12)  # ONLINE | DEGRADED | FAULTED | ...
    size = models.BigIntegerField(null=True)
    alloc = models.BigIntegerField(null=True)
    free = models.BigIntegerField(null=True)
    frag_pct = models.SmallIntegerField(null=True)
    cap_pct = models.SmallIntegerField(null=True)
    status = models.TextField(blank=True)
    action = models.TextField(blank=True)
    scan_kind = models.CharField(max_length=10, blank=True)  # scrub | resilver
    scan_state = models.CharField(max_length=12, blank=True)  # in_progress | finished | canceled
    scan_pct = models.FloatField(null=True)
    scan_eta = models.CharField(max_length=40, blank=True)
    scan_finished_at = models.DateTimeField(null=True)
    scan_text = models.TextField(blank=True)
    errors = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="zpool_once")]
        ordering = ["host", "name"]

    def __str__(self):
        return f"{self.host} {self.name} {self.health}"


class ZPoolDevice(models.Model):
    pool = models.ForeignKey(ZPool, on_delete=models.CASCADE, related_name="devices")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    section = models.CharField(max_length=10, default="data")  # data | logs | cache | spares ...
    position = models.PositiveIntegerField()
    depth = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=200)
    state = models.CharField(max_length=12, blank=True)
    read_errors = models.BigIntegerField(default=0)
    write_errors = models.BigIntegerField(default=0)
    cksum_errors = models.BigIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pool", "position"]

    def __str__(self):
        return f"{self.name} {self.state}"

    @property
    def has_errors(self) -> bool:
        return bool(self.read_errors or self.write_errors or self.cksum_errors)
