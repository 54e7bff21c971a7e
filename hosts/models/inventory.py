"""Inventory: what people enter. Everything observable hangs off Host and Cluster."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from customers.models import Customer
from hosts.choices import ClusterKind, HostRole, MemberRole, Reachability
from hosts.inventory.keys import fingerprint, parse_public_key, public_line_from_private
from hosts.validators import (
    host_name_validator,
    ssh_user_validator,
    validate_address,
    validate_roles,
)
from nyiops.crypto import EncryptedTextField


class Site(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SSHCredential(models.Model):
    """A private key the workers log in with. The key is encrypted at rest and never shown
    back: only its public line and fingerprint are."""

    name = models.CharField(max_length=100, unique=True, validators=[host_name_validator])
    username = models.CharField(max_length=32, validators=[ssh_user_validator])
    private_key = EncryptedTextField()
    public_key = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SSH credential"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.private_key:
            try:
                self.public_key = public_line_from_private(self.private_key)
            except ValueError as exc:
                raise ValidationError({"private_key": str(exc)}) from exc

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key.split()[1]) if self.public_key else ""


class HostQuerySet(models.QuerySet):
    def with_role(self, role: str):
        # JSON containment works on PostgreSQL; on SQLite the quoted text match is exact
        # because role names are fixed identifiers.
        return self.filter(roles__icontains=f'"{role}"')


class Host(models.Model):
    name = models.CharField(max_length=63, unique=True, validators=[host_name_validator])
    address = models.CharField(
        max_length=253, validators=[validate_address], help_text="Management address."
    )
    ssh_port = models.PositiveIntegerField(
        default=22, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    ssh_user = models.CharField(max_length=32, validators=[ssh_user_validator])
    credential = models.ForeignKey(
        SSHCredential, null=True, blank=True, on_delete=models.PROTECT, related_name="hosts"
    )
    roles = models.JSONField(default=list, validators=[validate_roles])
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosts",
        help_text="Owning customer; empty for internal hosts.",
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="hosts"
    )
    enabled = models.BooleanField(default=True)
    poll_interval = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(2), MaxValueValidator(3600)],
        help_text="Seconds between polls.",
    )

    # The pinned host key: connections to any other key are refused.
    host_key_type = models.CharField(max_length=40, blank=True)
    host_key_base64 = models.TextField(blank=True)
    host_key_approved_at = models.DateTimeField(null=True, blank=True)
    host_key_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A key the host offered that is not the pinned one, waiting for a NOC decision.
    offered_key_type = models.CharField(max_length=40, blank=True)
    offered_key_base64 = models.TextField(blank=True)
    offered_key_seen_at = models.DateTimeField(null=True, blank=True)

    # Polling bookkeeping: the due-time column the dispatcher claims rows by.
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    poll_claim = models.CharField(max_length=36, blank=True)
    poll_claimed_until = models.DateTimeField(null=True, blank=True)
    reachability = models.CharField(max_length=20, choices=Reachability, default=Reachability.NEW)
    reachability_reason = models.CharField(max_length=300, blank=True)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_poll_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def role_labels(self) -> list[str]:
        return [HostRole(r).label for r in self.roles if r in HostRole.values]

    @property
    def host_key_line(self) -> str:
        return f"{self.host_key_type} {self.host_key_base64}" if self.host_key_base64 else ""

    @host_key_line.setter
    def host_key_line(self, line: str):
        self.host_key_type, self.host_key_base64 = parse_public_key(line) if line else ("", "")

    @property
    def host_key_fingerprint(self) -> str:
        return fingerprint(self.host_key_base64) if self.host_key_base64 else ""

    @property
    def offered_key_fingerprint(self) -> str:
        return fingerprint(self.offered_key_base64) if self.offered_key_base64 else ""

    def clean(self):
        if self.host_key_base64 or self.host_key_type:
            try:
                parse_public_key(self.host_key_line)
            except ValueError as exc:
                raise ValidationError({"host_key_base64": f"Not a valid host key: {exc}"}) from exc


class Cluster(models.Model):
    """A CARP pair or group, seen as one unit."""

    name = models.CharField(max_length=63, unique=True, validators=[host_name_validator])
    kind = models.CharField(max_length=20, choices=ClusterKind)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="clusters"
    )
    description = models.TextField(blank=True)
    hosts = models.ManyToManyField(Host, through="ClusterMember", related_name="clusters")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClusterMember(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="members")
    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(
        max_length=10, choices=MemberRole, help_text="Intended CARP role at rest."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "host"], name="cluster_member_once")
        ]
        ordering = ["cluster", "role", "host__name"]

    def __str__(self):
        return f"{self.cluster}: {self.host} ({self.role})"
