import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from hosts.choices import HostRole
from hosts.inventory.keys import KeyFormatError, parse_public_key

host_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9.-]{0,62}$",
    "Use lowercase letters, digits, dots and dashes (1-63), starting with a letter or digit.",
)
ssh_user_validator = RegexValidator(r"^[a-z_][a-z0-9_-]{0,31}$", "Not a valid FreeBSD user name.")
zfs_dataset_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)*$", "Not a valid ZFS dataset name."
)
absolute_path_validator = RegexValidator(
    r"^/[A-Za-z0-9_./-]+$", "Use an absolute path of letters, digits, '_', '.', '-' and '/'."
)
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


def validate_address(value: str):
    """A management address: an IP address or a DNS name."""
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if not _HOSTNAME.match(value or "") or value.replace(".", "").isdigit():
        raise ValidationError(f"{value!r} is neither an IP address nor a host name.")


def validate_roles(value):
    if not isinstance(value, list) or not value:
        raise ValidationError("Give at least one role.")
    unknown = [r for r in value if r not in HostRole.values]
    if unknown:
        raise ValidationError(
            f"Unknown role(s) {', '.join(map(str, unknown))}; "
            f"choose from {', '.join(HostRole.values)}."
        )
    if len(set(value)) != len(value):
        raise ValidationError("A role is listed twice.")


def validate_public_key_line(value: str):
    try:
        parse_public_key(value)
    except KeyFormatError as exc:
        raise ValidationError(f"Not a valid OpenSSH public key: {exc}.") from exc
