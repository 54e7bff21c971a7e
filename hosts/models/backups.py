"""Backup jobs (declared in the inventory) and their runs (read from the storage host's log)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

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
    # Staleness of a job that never succeeded is measured from here.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class BackupRun(models.Model):
    """One run of a backup job, read from the wrapper log on the target host. The (job,
    started_at) pair is unique, so reading the same log twice stores the run once."""

    job = models.ForeignKey(BackupJob, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    exit_code = models.IntegerField(null=True)
    bytes_transferred = models.BigIntegerField(null=True)
    total_file_size = models.BigIntegerField(null=True)
    files_transferred = models.BigIntegerField(null=True)
    snapshot = models.CharField(max_length=300, blank=True)
    snapshot_verified = models.BooleanField(null=True)
    error_lines = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "started_at"], name="backup_run_once")
        ]
        ordering = ["job", "-started_at"]

    def __str__(self):
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M} exit {self.exit_code}"

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0
