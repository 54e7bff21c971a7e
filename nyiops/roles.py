"""The three kinds of users, as Django groups with permissions.

NOC staff run the fleet (view everything, change inventory, approve host keys); On-call
engineers see everything and handle alerts; Customer users see their own tenant only, and get
no model permissions at all: the portal scopes every queryset by their Membership instead."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

NOC = "NOC"
ONCALL = "On-call"
CUSTOMER = "Customer"
# Screens meant to be watched, not used (a wall display): exempt from the idle timeout.
WALLBOARD = "Wallboard"

_NOC_APPS = ("hosts", "customers", "alerts", "operations")


def ensure_role_groups(sender=None, **kwargs):
    """Create the groups and (re)grant their permissions; idempotent, run after migrate."""
    noc, _ = Group.objects.get_or_create(name=NOC)
    oncall, _ = Group.objects.get_or_create(name=ONCALL)
    Group.objects.get_or_create(name=CUSTOMER)
    Group.objects.get_or_create(name=WALLBOARD)
    perms = Permission.objects.filter(content_type__app_label__in=_NOC_APPS)
    noc.permissions.set(perms)
    oncall.permissions.set(
        [p for p in perms if p.codename.startswith("view_")]
        + [p for p in perms if p.content_type.app_label == "alerts"]
    )
    audit_view = Permission.objects.filter(
        content_type__app_label="audit", codename="view_auditrecord"
    )
    noc.permissions.add(*audit_view)
    oncall.permissions.add(*audit_view)


class RolesBackend(ModelBackend):
    """Django's ModelBackend, whose load of the session's user (every request) also reads the
    user's group names, in the same query on PostgreSQL: a live widget's refresh is a few
    queries in all, and each one waits for a core while the poller keeps both busy.
    Elsewhere the names are read on first use, as before."""

    def get_user(self, user_id):
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        names = ArraySubquery(Group.objects.filter(user=OuterRef("pk")).values("name"))
        model = get_user_model()
        try:
            user = model._default_manager.annotate(nyiops_role_names=names).get(pk=user_id)
        except model.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        user._nyiops_group_names = frozenset(user.__dict__.pop("nyiops_role_names"))
        return user


def _group_names(user) -> frozenset[str]:
    # Read once per request (the request's user object is built per request, with its
    # names on PostgreSQL: RolesBackend), so a view behind staff_required that asks is_noc,
    # is_oncall and is_wallboard runs at most one query; a group change applies from the
    # user's next request.
    names = getattr(user, "_nyiops_group_names", None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        user._nyiops_group_names = names
    return names


@receiver(m2m_changed, dispatch_uid="nyiops-roles-forget-group-names")
def _forget_group_names(sender, instance, **kwargs) -> None:
    # A user object kept past a request (a test, a task) that is added to a group, or
    # removed, reads its groups again.
    instance.__dict__.pop("_nyiops_group_names", None)


def _in_group(user, name: str) -> bool:
    if not user.is_authenticated:
        return False
    return name in _group_names(user)


def is_noc(user) -> bool:
    return user.is_authenticated and (user.is_superuser or _in_group(user, NOC))


def is_oncall(user) -> bool:
    return user.is_authenticated and (user.is_superuser or _in_group(user, ONCALL))


def is_wallboard(user) -> bool:
    return _in_group(user, WALLBOARD)


def is_customer(user) -> bool:
    """In the Customer group. Which tenant (and whether the user has one at all) is the
    portal's business: customers.scoping.customer_of, checked by customer_required."""
    return _in_group(user, CUSTOMER)


def is_staff_role(user) -> bool:
    """NOC or On-call: the people who may see the whole fleet."""
    return is_noc(user) or is_oncall(user)
