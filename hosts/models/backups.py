from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from hosts.models.inventory import Host
from hosts.validators import absolute_path_validator, host_name_validator, zfs_dataset_validator


class BackupJob(models.Model):
    """An rsync of a whole host to a storage host, which pulls it, logs the run and takes a
    ZFS snapshot of the target dataset afterwards."""

    name = models.CharField(max_length=63, unique=True, validators=[host_name_validator])
    source = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="backup_jobs")
    target = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="backup_targets")
    dataset = models.CharField(max_length=200, validators=[zfs_dataset_validator])
    schedule_minutes = models.PositiveIntegerField(
        default=1440, validators=[MinValueValidator(5), MaxValueValidator(7 * 1440)]
    )
    log_path = models.CharField(max_length=300, validators=[absolute_path_validator])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
