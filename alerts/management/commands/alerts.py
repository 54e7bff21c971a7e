"""Alerts from a terminal: `alerts list [--json] [--state S]`, `alerts ack ID --user NAME`."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from alerts import services
from alerts.models import Alert
from nyiops.roles import is_staff_role


def as_dict(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "state": alert.state,
        "severity": alert.severity,
        "kind": alert.kind,
        "subject": alert.subject,
        "message": alert.message,
        "dedup_key": alert.dedup_key,
        "parent": alert.parent_id,
        "suppressed": alert.suppressed,
        "expected": alert.expected,
        "opened_at": alert.opened_at.isoformat(),
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


class Command(BaseCommand):
    help = "List or acknowledge alerts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="open alerts (or --state)")
        ls.add_argument("--json", action="store_true")
        ls.add_argument(
            "--state", choices=["open", "firing", "acknowledged", "resolved", "all"], default="open"
        )
        ack = sub.add_parser("ack", help="acknowledge one alert")
        ack.add_argument("id", type=int)
        ack.add_argument("--user", required=True)
        ack.add_argument("--note", default="")
        ack.add_argument("--eta", type=int, default=None, help="minutes")

    def handle(self, *args, **options):
        if options["action"] == "list":
            return self.list(options)
        return self.ack(options)

    def list(self, options):
        qs = Alert.objects.select_related("acknowledged_by").order_by("-opened_at", "-pk")
        state = options["state"]
        qs = qs.open() if state == "open" else qs if state == "all" else qs.filter(state=state)
        rows = [as_dict(a) for a in qs]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for r in rows:
            child = f" (child of #{r['parent']})" if r["parent"] else ""
            self.stdout.write(
                f"#{r['id']:<6} {r['state']:<13} {r['severity']:<9} {r['subject']}: "
                f"{r['message']}{child}"
            )

    def ack(self, options):
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None or not is_staff_role(user):
            raise CommandError(f"no active NOC/on-call user {options['user']!r}")
        alert = Alert.objects.filter(pk=options["id"]).first()
        if alert is None:
            raise CommandError(f"no alert #{options['id']}")
        try:
            services.acknowledge_alert(
                alert, by=user, note=options["note"], eta_minutes=options["eta"], via="command"
            )
        except services.AlertStateError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"#{alert.pk} acknowledged by {user.username}"))
