"""The history: poll runs, state-change events, numeric samples, and current findings."""

from django.db import models

from hosts.models.inventory import Host


class PollRun(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "OK"
        PARTIAL = "partial", "Partial (some output unreadable)"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        LOST = "lost", "Lost (worker died)"

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="poll_runs")
    claim = models.CharField(max_length=36, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    duration_ms = models.PositiveIntegerField(null=True)
    # Written once, when a poll ends with something to say; a quiet OK poll writes none.
    status = models.CharField(max_length=10, choices=Status)
    error = models.CharField(max_length=500, blank=True)
    commands = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["host", "-started_at"])]

    def __str__(self):
        return f"poll {self.host} {self.started_at:%H:%M:%S} {self.status}"


class StatusEvent(models.Model):
    """One change of one state field of one observed subject (append-only): the failover
    timeline is made of these."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="events")
    poll = models.ForeignKey(PollRun, null=True, on_delete=models.SET_NULL, related_name="events")
    at = models.DateTimeField(db_index=True)
    subject_type = models.CharField(max_length=20)  # host | carp | mirror | zpool | jail | ...
    subject = models.CharField(max_length=200)  # "vhid 1@em0", "gm0", "web/web1"
    field = models.CharField(max_length=40)
    old = models.CharField(max_length=100, blank=True)
    new = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["host", "-at"])]

    def __str__(self):
        return (
            f"{self.at:%H:%M:%S} {self.host} {self.subject} {self.field}: {self.old} -> {self.new}"
        )

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("status events are append-only")
        super().save(*args, **kwargs)


class MetricSample(models.Model):
    """Compact numeric series for charts; pruned after NYIOPS_METRICS_RETENTION."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="metrics")
    metric = models.CharField(max_length=40)  # pf_states | pool_cap_pct | backend_scur | ...
    subject = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["host", "metric", "subject", "at"])]

    def __str__(self):
        return f"{self.host} {self.metric}[{self.subject}]={self.value}"
