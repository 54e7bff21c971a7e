from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from hosts.inventory.services import HostKeyDecisionError, approve_host_key, reject_host_key
from hosts.models import Host


class Command(BaseCommand):
    help = "Show, approve or reject the host key a host offered (unknown or changed key)."

    def add_arguments(self, parser):
        parser.add_argument("host")
        parser.add_argument(
            "--fingerprint",
            help="Approve only if the offered key has this SHA256 fingerprint (as shown).",
        )
        parser.add_argument("--reject", action="store_true", help="Forget the offered key.")
        parser.add_argument("--user", help="Record the decision as this user.")

    def handle(self, *args, host, fingerprint=None, reject=False, user=None, **options):
        target = Host.objects.filter(name=host).first()
        if target is None:
            raise CommandError(f"no host named {host!r}")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user named {user!r}")
        if not target.offered_key_base64:
            raise CommandError(f"{host} has no host key waiting for approval")
        pinned = target.host_key_fingerprint or "none"
        self.stdout.write(
            f"{host}: pinned {pinned}; offered {target.offered_key_type} "
            f"{target.offered_key_fingerprint} (first seen {target.offered_key_seen_at})"
        )
        if fingerprint is None and not reject:
            self.stdout.write("Re-run with --fingerprint SHA256:... to approve, or --reject.")
            return
        try:
            if reject:
                reject_host_key(target, by=actor)
                self.stdout.write(self.style.WARNING(f"{host}: offered key rejected"))
            else:
                approve_host_key(target, by=actor, expected_fingerprint=fingerprint)
                self.stdout.write(self.style.SUCCESS(f"{host}: host key {fingerprint} pinned"))
        except HostKeyDecisionError as exc:
            raise CommandError(str(exc)) from exc
