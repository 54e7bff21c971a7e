"""Jail requests from a terminal, through the same form and services as the pages:
`jail_requests create|list|approve|reject` (see `--help` of each)."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer, JailRequest
from customers.scoping import customer_of, scope
from hosts.models import Jail
from nyiops.roles import is_noc
from portal import jail_requests
from portal.forms import JailRequestForm


def as_dict(req: JailRequest) -> dict:
    return {
        "id": req.pk,
        "customer": req.customer.slug,
        "name": req.name,
        "hostname": req.hostname,
        "purpose": req.purpose,
        "twin_of": req.twin_of_label or None,
        "ip": req.ip,
        "size_gb": req.size_gb,
        "template": req.template,
        "host": req.host.name if req.host_id else None,
        "status": req.status,
        "status_text": req.status_text,
        "operation_id": req.operation_id,
        "created_at": req.created_at.isoformat(),
    }


def _user(username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


def _refused(exc: jail_requests.Refused) -> CommandError:
    return CommandError("refused: " + "; ".join(f"{f}: {m}" for f, m in exc.errors.items()))


class Command(BaseCommand):
    help = "Create, list, approve or reject jail requests."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a customer user asks for a jail")
        create.add_argument("--customer", required=True, help="customer slug")
        create.add_argument("--user", required=True, help="a user of that customer")
        create.add_argument("--purpose", required=True, choices=["production", "staging", "twin"])
        create.add_argument("--of", dest="twin_of", default="", help="JAIL or HOST:JAIL to twin")
        create.add_argument("--hostname", required=True)
        create.add_argument("--name", default="")
        create.add_argument("--size", type=int, default=10, help="GiB")
        create.add_argument("--template", default="")
        create.add_argument("--ip", default="")
        create.add_argument("--affinity", default="any", choices=["any", "same", "other"])
        create.add_argument("--json", action="store_true")
        ls = sub.add_parser("list", help="requests, newest first")
        ls.add_argument("--status", default="")
        ls.add_argument("--json", action="store_true")
        approve = sub.add_parser("approve", help="NOC: approve; prints the operation id")
        approve.add_argument("id", type=int)
        approve.add_argument("--user", required=True)
        approve.add_argument("--host", default="", help="another of the customer's jail hosts")
        reject = sub.add_parser("reject", help="NOC: reject with a reason")
        reject.add_argument("id", type=int)
        reject.add_argument("--user", required=True)
        reject.add_argument("--reason", required=True)

    def handle(self, *args, **options):
        return getattr(self, options["action"])(options)

    def create(self, options):
        user = _user(options["user"])
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None or customer_of(user) != customer:
            raise CommandError(
                f"{options['user']!r} is not a user of customer {options['customer']!r}"
            )
        twin_of = ""
        if options["twin_of"]:
            host, _, name = options["twin_of"].rpartition(":")
            jails = scope(Jail.objects.present(), user, field="host__customer").filter(name=name)
            if host:
                jails = jails.filter(host__name=host)
            if jails.count() != 1:
                raise CommandError(
                    f"twin_of: no single jail {options['twin_of']!r} of yours (use HOST:JAIL)"
                )
            twin_of = str(jails.get().pk)
        data = {
            "purpose": options["purpose"],
            "twin_of": twin_of,
            "hostname": options["hostname"],
            "name": options["name"],
            "size_gb": options["size"],
            "template": options["template"],
            "ip": options["ip"],
            "affinity": options["affinity"],
        }
        form = JailRequestForm(data, user=user)
        if not form.is_valid():
            raise CommandError(
                "refused: " + "; ".join(f"{f}: {' '.join(m)}" for f, m in form.errors.items())
            )
        try:
            req = jail_requests.create(customer, user, form.cleaned_data)
        except jail_requests.Refused as exc:
            raise _refused(exc) from exc
        if options["json"]:
            self.stdout.write(json.dumps(as_dict(req), indent=2))
        else:
            self.stdout.write(f"#{req.pk} {req.name} {req.ip} on {req.host or '?'}: pending")

    def list(self, options):
        qs = JailRequest.objects.select_related("customer", "host")
        if options["status"]:
            qs = qs.filter(status=options["status"])
        rows = [as_dict(r) for r in qs]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for r in rows:
            self.stdout.write(
                f"#{r['id']:<5} {r['customer']:<12} {r['name']:<20} {r['ip']:<15} "
                f"{r['host'] or '-':<12} {r['status']:<12} {r['status_text']}"
            )

    def _noc(self, username):
        user = _user(username)
        if not is_noc(user):
            raise CommandError(f"{username!r} is not NOC staff")
        return user

    def approve(self, options):
        user = self._noc(options["user"])
        req = JailRequest.objects.select_related("customer").filter(pk=options["id"]).first()
        if req is None:
            raise CommandError(f"no request #{options['id']}")
        host_id = None
        if options["host"]:
            host = jail_requests.placement.jail_hosts(req.customer).filter(name=options["host"])
            if not host.exists():
                raise CommandError(
                    f"host: {options['host']!r} is not one of the customer's jail hosts"
                )
            host_id = host.get().pk
        try:
            req = jail_requests.approve(req.pk, user, host_id=host_id)
        except jail_requests.Refused as exc:
            raise _refused(exc) from exc
        self.stdout.write(str(req.operation_id if req.operation_id is not None else ""))

    def reject(self, options):
        user = self._noc(options["user"])
        if not JailRequest.objects.filter(pk=options["id"]).exists():
            raise CommandError(f"no request #{options['id']}")
        try:
            jail_requests.reject(options["id"], user, reason=options["reason"])
        except jail_requests.Refused as exc:
            raise _refused(exc) from exc
        self.stdout.write(self.style.SUCCESS(f"#{options['id']} rejected"))
