"""The three kinds of users, as Django groups with permissions.

NOC staff run the fleet (view everything, change inventory, approve host keys); On-call
engineers see everything and handle alerts; Customer users see their own tenant only, and get
no model permissions at all: the portal scopes every queryset by their Membership instead."""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connections, router
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from nyiops import rows

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


@functools.cache
def _user_with_group_names_sql(model) -> str:
    """One user by primary key, with the names of the user's groups as a last column (an
    array: PostgreSQL)."""
    using = router.db_for_read(model)
    q, meta = rows.quote(using), model._meta
    groups = meta.get_field("groups")
    group = groups.related_model._meta
    return (
        f"SELECT {rows.columns(model, using, 'u')}, ARRAY("  # noqa: S608 (names, not values)
        f"SELECT g.{q(group.get_field('name').column)} FROM {q(group.db_table)} g "
        f"JOIN {q(groups.m2m_db_table())} ug ON ug.{q(groups.m2m_reverse_name())} "
        f"= g.{q(group.pk.column)} "
        f"WHERE ug.{q(groups.m2m_column_name())} = u.{q(meta.pk.column)}) "
        f"FROM {q(meta.db_table)} u WHERE u.{q(meta.pk.column)} = %s"
    )


class RolesBackend(ModelBackend):
    """Django's ModelBackend, whose load of the session's user (every request) also reads the
    user's group names, in the same query on PostgreSQL, sent as plain SQL (nyiops.rows): a
    live widget's refresh is a few queries in all, and each one waits for a core while the
    poller keeps both busy. Elsewhere the names are read on first use, as before."""

    def get_user(self, user_id):
        model = get_user_model()
        using = router.db_for_read(model)
        if connections[using].vendor != "postgresql":
            return super().get_user(user_id)
        pk = model._meta.pk.get_db_prep_value(user_id, connections[using])
        row = rows.fetch_one(using, _user_with_group_names_sql(model), [pk])
        if row is None:
            return None
        user = rows.instance(model, row[:-1], using)
        if not self.user_can_authenticate(user):
            return None
        user._nyiops_group_names = frozenset(row[-1])
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
