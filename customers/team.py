"""Customer admins manage their own company's portal users: invite and remove.

Owns the invite (a new user in the Customer group with a membership of the admin's own
customer and no usable password, plus an e-mailed set-password link) and the removal
(membership gone, user deactivated). The customer always comes from the acting admin,
never from input, and removal finds the user through the admin's own memberships, so
another company's user is a 404 at the view. It must not grant any staff role.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audit.services import record
from customers.choices import MembershipRole
from customers.models import Membership
from customers.scoping import customer_of
from nyiops.roles import CUSTOMER, ensure_role_groups


class TeamError(Exception):
    pass


def is_customer_admin(user) -> bool:
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    return bool(membership and membership.role == MembershipRole.ADMIN)


def set_password_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.NYIOPS_BASE_URL + reverse("customers:welcome", args=[uid, token])


def invite(admin, *, username: str, email: str, role: str = MembershipRole.VIEWER):
    customer = customer_of(admin)
    if customer is None or not is_customer_admin(admin):
        raise TeamError("Only your company's portal admins can invite users.")
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise TeamError(f"The user name “{username}” is taken.")
    ensure_role_groups()
    with transaction.atomic():
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=CUSTOMER))
        Membership.objects.create(user=user, customer=customer, role=role)
        record(
            actor=admin,
            action="customer_user.invite",
            target=user,
            after={"customer": customer.slug, "role": role, "email": email},
        )
        link = set_password_link(user)
        transaction.on_commit(
            lambda: EmailMessage(
                f"Your {customer.name} portal account",
                f"{admin.get_username()} invited you to the {customer.name} portal.\n"
                f"Choose your password here (the link works once):\n\n{link}\n",
                to=[email],
            ).send()
        )
    return user


def remove(admin, membership: Membership) -> None:
    """`membership` must come from the admin's own scope (the view does that)."""
    if membership.customer_id != getattr(customer_of(admin), "pk", None):
        raise TeamError("Not a user of your company.")
    if membership.user_id == admin.pk:
        raise TeamError("You cannot remove yourself; ask another admin.")
    with transaction.atomic():
        user = membership.user
        record(
            actor=admin,
            action="customer_user.remove",
            target=user,
            before={"customer": membership.customer.slug, "role": membership.role},
        )
        membership.delete()
        user.is_active = False
        user.save(update_fields=["is_active"])
