"""`manage.py freebsd_parse KIND FILE`: run one output parser and print its result as JSON."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from hosts.freebsd import COLUMN_KINDS, PARSERS, ParseError, parse


class Command(BaseCommand):
    # call_command(..., stdin=StringIO(...)) feeds FILE "-" in tests (as loaddata does).
    stealth_options = ("stdin",)
    help = "Parse captured FreeBSD/OpenZFS/HAProxy/rsync output (FILE '-' = stdin); print JSON."

    def add_arguments(self, parser):
        parser.add_argument("kind", help=f"one of: {', '.join(sorted(PARSERS))}")
        parser.add_argument("file", help="file with the command's output, or - for stdin")
        parser.add_argument(
            "--columns",
            help="zpool-list / zfs-list: the -o column list of a headerless -H run (a,b,c)",
        )

    def handle(self, *args, **options):
        kind = options["kind"]
        if kind not in PARSERS:
            raise CommandError(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(PARSERS))}")
        columns = None
        if options.get("columns"):
            if kind not in COLUMN_KINDS:
                raise CommandError(f"--columns only applies to {', '.join(sorted(COLUMN_KINDS))}")
            columns = [c.strip() for c in options["columns"].split(",") if c.strip()]
        text = self._read(options["file"], options.get("stdin"))
        try:
            result = parse(kind, text, columns=columns)
        except ParseError as exc:
            raise CommandError(f"{kind}: {exc}") from exc
        self.stdout.write(json.dumps(result.to_dict(), indent=2, sort_keys=False))

    def _read(self, path: str, stdin=None) -> str:
        # Undecodable bytes are replaced, not fatal: the parsers report what they cannot read.
        if path == "-":
            stream = stdin or sys.stdin.buffer
            data = stream.read()
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        try:
            with open(path, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
