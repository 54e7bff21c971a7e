"""Customer vocabularies (SLA tiers, membership roles)."""

from django.db import models


class SlaTier(models.TextChoices):
    BRONZE = "bronze", "Bronze"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"
    PLATINUM = "platinum", "Platinum"


class MembershipRole(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    ADMIN = "admin", "Admin"


class JailPurpose(models.TextChoices):
    PRODUCTION = "production", "Production"
    STAGING = "staging", "Staging"
    TWIN = "twin", "Staging twin of an existing jail"


class Affinity(models.TextChoices):
    """Where a staging jail goes relative to the jail it mirrors."""

    ANY = "any", "Wherever there is most room"
    SAME_HOST = "same", "On the same host"
    OTHER_HOST = "other", "On another host"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved, queued"
    PROVISIONING = "provisioning", "Being set up"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


# Requests in these states hold their IP address and name: the database refuses a second one.
ACTIVE_STATUSES = (
    RequestStatus.PENDING,
    RequestStatus.APPROVED,
    RequestStatus.PROVISIONING,
    RequestStatus.READY,
)
