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
    # Change detection (hosts.fingerprints): {section key: fingerprint} of the last stored
    # poll, and one digest of them all. A poll whose digest matches, on a reachable host
    # with nothing due, stores with one UPDATE of the host row.
    section_fingerprints = models.JSONField(default=dict, blank=True)
    poll_digest = models.CharField(max_length=32, blank=True)

    def __str__(self):
        return f"facts of {self.host}"


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
