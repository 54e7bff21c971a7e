"""Customer (the tenant) and Membership (a user's tenant and role in it).
Must not: import hosts or any higher app; infrastructure points at Customer, not back."""

from django.conf import settings
from django.db import models

from customers.choices import (
    ACTIVE_STATUSES,
    Affinity,
    JailPurpose,
    MembershipRole,
    RequestStatus,
    SlaTier,
)
from customers.validators import (
    hostname_validator,
    jail_name_validator,
    slug_validator,
    validate_contacts,
    validate_ip_ranges,
)


class Customer(models.Model):
    """A tenant. Infrastructure points at it with on_delete=PROTECT: deleting a customer
    never cascades into hosts or clusters."""

    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    sla_tier = models.CharField(max_length=20, choices=SlaTier, default=SlaTier.SILVER)
    contacts = models.JSONField(default=list, blank=True, validators=[validate_contacts])
    ip_ranges = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_ip_ranges],
        help_text="CIDR networks allocated to this customer's jails.",
    )
    notes = models.TextField(blank=True)
    require_2fa = models.BooleanField(
        "require two-factor authentication",
        default=False,
        help_text="Portal users of this customer must set up and use a TOTP code to log in.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """Links a portal user to the one customer whose objects they may see."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=MembershipRole, default=MembershipRole.VIEWER)

    def __str__(self):
        return f"{self.user} @ {self.customer}"


class JailRequest(models.Model):
    """A customer's order for a jail, from the form to a running jail.

    The database holds the line on the two scarce things: an IP address and a jail name are
    each held by at most one active request (pending ... ready), so two requests racing for
    the last free address cannot both get it. Hosts are referenced by name strings in
    "hosts.Host" form: customers sits below hosts in the import order."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="jail_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    purpose = models.CharField(max_length=20, choices=JailPurpose)
    twin_of = models.ForeignKey(
        "hosts.Jail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The source jail as "host:name", kept when the observed row goes.
    twin_of_label = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=32, validators=[jail_name_validator])
    hostname = models.CharField(max_length=253, validators=[hostname_validator])
    size_gb = models.PositiveIntegerField()
    template = models.CharField(max_length=60, blank=True)
    ip = models.GenericIPAddressField(protocol="IPv4")
    affinity = models.CharField(max_length=10, choices=Affinity, default=Affinity.ANY)
    host = models.ForeignKey(
        "hosts.Host", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    preview = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=RequestStatus, default=RequestStatus.PENDING)
    # What the customer reads about the current status: a reason, a step, a failure in words.
    status_text = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    operation_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ip"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="jail_request_ip_once",
            ),
            models.UniqueConstraint(
                fields=["customer", "name"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="jail_request_name_once",
            ),
            models.CheckConstraint(
                condition=~models.Q(purpose=JailPurpose.TWIN) | ~models.Q(twin_of_label=""),
                name="jail_request_twin_has_source",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="jail_request_queue")]

    def __str__(self):
        return f"{self.customer.slug}: {self.name} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class IncidentNotice(models.Model):
    """That a customer was told about an incident (an alert touching its services), so each
    customer hears once when it opens and once when it is resolved. The alert is referenced
    by id: customers sits below alerts in the import order."""

    alert_id = models.PositiveBigIntegerField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    services = models.JSONField(default=list, blank=True)
    opened_sent_at = models.DateTimeField()
    resolved_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert_id", "customer"], name="incident_notice_once")
        ]
        indexes = [
            models.Index(
                fields=["alert_id"],
                condition=models.Q(resolved_sent_at__isnull=True),
                name="incident_notice_unresolved",
            )
        ]

    def __str__(self):
        return f"alert {self.alert_id} -> {self.customer_id}"
