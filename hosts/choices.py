"""The inventory's fixed vocabularies (host roles, cluster kinds, member roles,
reachability), stored as their string values."""

from django.db import models


class HostRole(models.TextChoices):
    FIREWALL = "firewall", "Firewall"
    LOADBALANCER = "loadbalancer", "Load balancer"
    JAILHOST = "jailhost", "Jail host"
    STORAGE = "storage", "Storage"
    DNS = "dns", "DNS"
    WEB = "web", "Web server"


class ClusterKind(models.TextChoices):
    FIREWALL = "firewall", "Firewall pair"
    LOADBALANCER = "loadbalancer", "Load-balancer pair"
    JAIL_SERVICE = "jail-service", "Jail service"
    VPN = "vpn", "VPN"


class MemberRole(models.TextChoices):
    PRIMARY = "primary", "Primary"
    BACKUP = "backup", "Backup"


class Reachability(models.TextChoices):
    """Whether the last poll reached the host; UNKNOWN carries its reason beside it."""

    NEW = "new", "Not polled yet"
    OK = "ok", "Reachable"
    UNKNOWN = "unknown", "Unknown"
    HOST_KEY_UNKNOWN = "host_key_unknown", "Host key unknown"
    HOST_KEY_CHANGED = "host_key_changed", "Host key changed"
    DISABLED = "disabled", "Disabled"
