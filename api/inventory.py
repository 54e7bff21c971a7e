"""Inventory writes through the API, by way of the inventory file import.

The API does not validate inventory itself: it turns one object into a one-entry inventory
file and hands it to `import_inventory`, so the API, the YAML import and their error
messages cannot drift apart. Import errors ("hosts[0] (fw1a).ssh_port: ...") are mapped back
to the API's `{"field": ["message"]}` shape. All or nothing, audited as the token's user."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction
from rest_framework.exceptions import ValidationError

from audit.services import record
from hosts.inventory.file import InventoryError, import_inventory

_ERROR = re.compile(r"^\w+\[\d+\](?: \([^)]*\))?(?:\.([A-Za-z_]+)([^:]*))?: (.*)$", re.S)


def field_errors(errors: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in errors:
        match = _ERROR.match(line)
        if match is None:
            out.setdefault("non_field_errors", []).append(line)
            continue
        field, sub, message = match.groups()
        sub = (sub or "").lstrip(".")
        out.setdefault(field or "non_field_errors", []).append(
            f"{sub}: {message}" if sub else message
        )
    return out


def upsert(section: str, entry: dict, *, request, created: bool) -> None:
    """Write one inventory entry (`section` as in the file) or raise ValidationError."""
    token = getattr(request, "auth", None)
    via = f"API token {token.prefix}" if hasattr(token, "prefix") else "API (session)"
    with transaction.atomic():
        try:
            summary = import_inventory(
                {section: [entry]}, base_dir=settings.VAR_DIR, actor=request.user
            )
        except InventoryError as exc:
            raise ValidationError(field_errors(exc.errors)) from exc
        record(
            actor=request.user,
            action=f"api.inventory.{'create' if created else 'update'}",
            after={"section": section, "entry": entry},
            message=f"{section} via {via}: {summary}",
            request_id=request.headers.get("X-Request-Id", "")[:64],
        )
