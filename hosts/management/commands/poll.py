import json
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from hosts.models import Host
from hosts.polling.run import poll_host


def _poll(host: Host):
    try:
        return poll_host(host)
    finally:
        connection.close()  # each thread opened its own; CONN_MAX_AGE would keep it open


class Command(BaseCommand):
    help = "Poll hosts now, synchronously (the same code the Celery task runs)."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--host", action="append", help="Host name (repeatable).")
        target.add_argument("--all", action="store_true", help="Every enabled host.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--workers", type=int, default=16)

    def handle(self, *args, host=None, all=False, json=False, workers=16, **options):
        hosts = Host.objects.select_related("credential")
        if all:
            hosts = list(hosts.filter(enabled=True))
        else:
            found = {h.name: h for h in hosts.filter(name__in=host)}
            missing = sorted(set(host) - set(found))
            if missing:
                raise CommandError(f"no host named {', '.join(missing)}")
            hosts = [found[name] for name in host]
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            outcomes = list(pool.map(_poll, hosts))
        if json:
            self.stdout.write(_json_dump([o.__dict__ for o in outcomes]))
        else:
            for outcome in outcomes:
                self.stdout.write(outcome.summary())
                for subsystem, reason in outcome.subsystem_errors.items():
                    self.stdout.write(f"  {subsystem}: {reason}")


def _json_dump(data) -> str:
    return json.dumps(data, indent=2, default=str)
