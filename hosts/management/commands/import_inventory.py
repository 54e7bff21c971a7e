from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from hosts.inventory.file import InventoryError, import_inventory, load_inventory_file


class Command(BaseCommand):
    help = "Upsert customers, sites, credentials, hosts, clusters and backup jobs from a YAML file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="Record the import in the audit trail as this user.")

    def handle(self, *args, file: Path, user=None, **options):
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user named {user!r}")
        try:
            data = load_inventory_file(file)
            summary = import_inventory(data, base_dir=file.resolve().parent, actor=actor)
        except InventoryError as exc:
            raise CommandError(
                f"{file}: refused, nothing imported ({len(exc.errors)} error(s)):\n  "
                + "\n  ".join(exc.errors)
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Imported {file}: {summary}"))
