import yaml
from django.core.management.base import BaseCommand

from hosts.inventory.file import export_inventory


class Command(BaseCommand):
    help = "Print the inventory as YAML in import_inventory's format (private keys left out)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, output=None, **options):
        text = yaml.safe_dump(export_inventory(), sort_keys=False, allow_unicode=True)
        if output:
            with open(output, "w") as f:
                f.write(text)
        else:
            self.stdout.write(text, ending="")
