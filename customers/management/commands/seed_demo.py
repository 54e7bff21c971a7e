"""`manage.py seed_demo`: the demo's users, one per role, with known passwords.
Refused in production."""

import hashlib
from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.models import Customer, Membership
from nyiops.roles import CUSTOMER, NOC, ONCALL, ensure_role_groups

DEMO_USERS = (
    # username, password, group, is_staff, is_superuser
    ("admin", "nyiops-demo-admin", None, True, True),
    ("noc", "nyiops-demo-noc", NOC, True, False),
    ("oncall", "nyiops-demo-oncall", ONCALL, False, False),
    ("customer", "nyiops-demo-customer", CUSTOMER, False, False),
)
# Staff must use a second factor (D7); the demo's staff get a known TOTP secret each, so
# anyone can add it to an authenticator app, or ask `seed_demo --code USER` for the code.
TOTP_USERS = ("admin", "noc", "oncall")


def demo_totp_key(username: str) -> str:
    """20 bytes (hex) derived from the name: known, and the same on every machine."""
    return hashlib.sha256(f"nyiops-demo-totp:{username}".encode()).hexdigest()[:40]


def demo_totp_secret(username: str) -> str:
    return b32encode(bytes.fromhex(demo_totp_key(username))).decode()


class Command(BaseCommand):
    help = (
        "Create the demo users (development only): admin, noc, oncall, customer; the staff "
        "with a known TOTP secret. --code USER prints that user's current code."
    )

    def add_arguments(self, parser):
        parser.add_argument("--code", metavar="USER", help="print USER's current TOTP code")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates users with known passwords: not in production")
        if options["code"]:
            if options["code"] not in TOTP_USERS:
                raise CommandError(f"demo users with a TOTP secret: {', '.join(TOTP_USERS)}")
            key = bytes.fromhex(demo_totp_key(options["code"]))
            self.stdout.write(f"{totp(key):06d}")
            return
        ensure_role_groups()
        User = get_user_model()
        customer = Customer.objects.order_by("slug").first()
        with transaction.atomic():
            for username, password, group, is_staff, is_superuser in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                user.is_staff, user.is_superuser = is_staff, is_superuser
                user.email = f"{username}@nyiops.example"
                user.set_password(password)
                user.save()
                if group:
                    user.groups.set([Group.objects.get(name=group)])
                if group == CUSTOMER and customer is not None:
                    Membership.objects.update_or_create(user=user, defaults={"customer": customer})
                if username in TOTP_USERS:
                    TOTPDevice.objects.update_or_create(
                        user=user,
                        name="demo authenticator",
                        defaults={"key": demo_totp_key(username), "confirmed": True},
                    )
        self.stdout.write(self.style.SUCCESS("Demo users ready: admin, noc, oncall, customer"))
        for username in TOTP_USERS:
            self.stdout.write(f"  TOTP secret of {username}: {demo_totp_secret(username)}")
