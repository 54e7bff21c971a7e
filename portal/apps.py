"""Django app config of portal."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The customer-facing workflow above the fleet: the portal and its widgets, jail
    requests with their placement preview, the NOC approval queue, provisioning through
    the operations engine, customer impact and notices. Tenancy itself (customers, members,
    scope) lives in `customers`, which sits below `hosts`; this app reads hosts, alerts
    and operations, so it sits above them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
