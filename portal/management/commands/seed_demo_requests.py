"""Demo only: a portal user for Initech (the demo customer with jails) and one pending jail
request, a staging twin of its production shop, for the NOC to approve in `make demo`.
Needs the jail hosts polled once (demo/run.py polls them first); idempotent."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer, JailRequest, Membership
from hosts.models import Jail
from nyiops.roles import CUSTOMER, ensure_role_groups
from portal import jail_requests

USERNAME, PASSWORD = "initech", "nyiops-demo-initech"


class Command(BaseCommand):
    help = "Create the demo Initech portal user and a pending staging-twin request."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo_requests creates users with known passwords")
        customer = Customer.objects.filter(slug="initech").first()
        if customer is None:
            self.stdout.write("no customer initech: nothing to seed")
            return
        ensure_role_groups()
        user, _ = get_user_model().objects.get_or_create(username=USERNAME)
        user.email = "initech@nyiops.example"
        user.set_password(PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=CUSTOMER)])
        Membership.objects.update_or_create(
            user=user, defaults={"customer": customer, "role": "admin"}
        )
        if JailRequest.objects.filter(customer=customer, name="preview").exists():
            self.stdout.write("demo request already there")
            return
        source = Jail.objects.present().filter(host__customer=customer, name="shop-production")
        if not source.exists():
            raise CommandError("shop-production not observed yet: poll app1 first")
        data = {
            "purpose": "twin",
            "twin_of": source.first(),
            "hostname": "preview.shop.initech.example",
            "name": "preview",
            "size_gb": 10,
            "template": "",
            "ip": "",
            "affinity": "any",
        }
        try:
            req = jail_requests.create(customer, user, data)
        except jail_requests.Refused as exc:
            raise CommandError(f"demo request refused: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"pending request #{req.pk}: {req.name} {req.ip}"))
