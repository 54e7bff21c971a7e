from django.conf import settings
from django.db import models

from customers.choices import MembershipRole, SlaTier
from customers.validators import slug_validator, validate_contacts, validate_ip_ranges


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
