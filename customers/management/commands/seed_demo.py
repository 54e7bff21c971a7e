from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from customers.models import Customer, Membership
from nyiops.roles import CUSTOMER, NOC, ONCALL, ensure_role_groups

DEMO_USERS = (
    # username, password, group, is_staff, is_superuser
    ("admin", "nyiops-demo-admin", None, True, True),
    ("noc", "nyiops-demo-noc", NOC, True, False),
    ("oncall", "nyiops-demo-oncall", ONCALL, False, False),
    ("customer", "nyiops-demo-customer", CUSTOMER, False, False),
)


class Command(BaseCommand):
    help = "Create the demo users (development only): admin, noc, oncall, customer."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates users with known passwords: not in production")
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
        self.stdout.write(self.style.SUCCESS("Demo users ready: admin, noc, oncall, customer"))
