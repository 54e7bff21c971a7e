"""Validators for customer fields (slug, contacts, IP ranges)."""

import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,49}$",
    "Use lowercase letters, digits and dashes (1-50), starting with a letter or digit.",
)


def validate_ip_ranges(value):
    if not isinstance(value, list):
        raise ValidationError("IP ranges must be a list of CIDR networks.")
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=True)
        except ValueError as exc:
            raise ValidationError(f"{item!r} is not a CIDR network: {exc}") from exc


def validate_contacts(value):
    if not isinstance(value, list):
        raise ValidationError("Contacts must be a list.")
    for i, contact in enumerate(value, 1):
        if not isinstance(contact, dict) or not str(contact.get("name", "")).strip():
            raise ValidationError(f"Contact {i} needs a name.")
        unknown = set(contact) - {"name", "email", "phone", "role"}
        if unknown:
            raise ValidationError(f"Contact {i} has unknown fields: {', '.join(sorted(unknown))}.")
        if contact.get("email"):
            try:
                validate_email(contact["email"])
            except ValidationError as exc:
                raise ValidationError(
                    f"Contact {i}: {contact['email']!r} is not an email."
                ) from exc


# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, 1-63 each,
# 253 in all. Lower case only, so two spellings of one name cannot both be requested.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
hostname_validator = RegexValidator(
    rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$",
    "Not an RFC 1123 host name: use dot-separated labels of lowercase letters, digits and "
    "inner hyphens (1-63 characters each, 253 in all).",
)
# A jail name must not contain a dot: jail(8) reads dots as hierarchical (parent.child) jails.
jail_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_-]{0,31}$",
    "Use lowercase letters, digits, '-' and '_' (1-32), starting with a letter.",
)
