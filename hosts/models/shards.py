"""Poll shards: a worker process's claim on one slice of the fleet (host affinity).

A host's polls go to one worker process (its shard's queue), so only that process holds the
host's persistent SSH connection. A shard is held by a lease the worker renews; the
dispatcher routes only to shards whose lease is live (hosts.polling.shards)."""

from django.db import models


class PollShard(models.Model):
    number = models.PositiveSmallIntegerField(primary_key=True)
    owner = models.CharField(max_length=200, blank=True)  # the worker's node name, for people
    token = models.CharField(max_length=36, blank=True)  # '' = never held or reaped
    held_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"poll shard {self.number} ({self.owner or 'free'})"
