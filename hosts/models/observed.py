"""Observed state: what polling discovered on a host, upserted on every poll.

Rows that disappear from a host are marked gone (`gone_at`), never deleted, so history and
alerts keep their subject. Every change of a state field also appends a StatusEvent."""

from django.db import models

from hosts.models.inventory import Host


class ObservedQuerySet(models.QuerySet):
    def present(self):
        return self.filter(gone_at__isnull=True)


class Observed(models.Model):
    first_seen_at = models.DateTimeField(auto_now_add=True)
    # When the row last changed; freshness is the host's last_success_at (rows are not
    # rewritten by polls that find nothing new).
    changed_at = models.DateTimeField()
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = ObservedQuerySet.as_manager()

    class Meta:
        abstract = True


class HostFacts(models.Model):
    """One row per host: the scalar facts of the last successful poll of each subsystem,
    and the raw output of every command of the last poll (for the host page)."""

    host = models.OneToOneField(Host, on_delete=models.CASCADE, related_name="facts")
    freebsd_version = models.CharField(max_length=60, blank=True)
    uname = models.CharField(max_length=300, blank=True)
    carp_allow = models.IntegerField(null=True)
    carp_preempt = models.IntegerField(null=True)
    carp_demotion = models.IntegerField(null=True)
    pf_enabled = models.BooleanField(null=True)
    pf_states = models.BigIntegerField(null=True)
    pf_ruleset_hash = models.CharField(max_length=64, blank=True)
    pfsync_present = models.BooleanField(null=True)
    pfsync_syncdev = models.CharField(max_length=32, blank=True)
    pfsync_syncpeer = models.CharField(max_length=64, blank=True)
    pfsync_syncok = models.IntegerField(null=True)
    pfsync_maxupd = models.IntegerField(null=True)
    pfsync_defer = models.CharField(max_length=8, blank=True)
    # {subsystem: reason} for subsystems whose output could not be read in the last poll.
    subsystem_errors = models.JSONField(default=dict, blank=True)
    raw_outputs = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    metrics_sampled_at = models.DateTimeField(null=True, blank=True)
    # When the health rules last judged this host (they re-run on change, else when a
    # rule that reads the clock can next change its verdict: `judge_due_at`).
    evaluated_at = models.DateTimeField(null=True, blank=True)
    judge_due_at = models.DateTimeField(null=True, blank=True)
    # Change detection (hosts.polling.fingerprints): {section key: fingerprint} of the last stored
    # poll, and one digest of them all. A poll whose digest matches, on a reachable host
    # with nothing due, stores with one UPDATE of the host row.
    section_fingerprints = models.JSONField(default=dict, blank=True)
    poll_digest = models.CharField(max_length=32, blank=True)

    def __str__(self):
        return f"facts of {self.host}"
