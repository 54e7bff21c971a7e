"""SSH key text: validate OpenSSH public/private keys and compute fingerprints the way
ssh-keygen prints them. Uses cryptography only; paramiko stays inside hosts/ssh.py."""

import base64
import hashlib

from cryptography.hazmat.primitives import serialization

SUPPORTED_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


class KeyFormatError(ValueError):
    """A key that is not a valid OpenSSH key; the message says why."""


def parse_public_key(line: str) -> tuple[str, str]:
    """`"ssh-ed25519 AAAA... comment"` -> (key type, base64 blob), checked by loading it."""
    parts = (line or "").strip().split()
    if len(parts) < 2:
        raise KeyFormatError("expected '<type> <base64>' as in an OpenSSH public key line")
    key_type, blob = parts[0], parts[1]
    if key_type not in SUPPORTED_KEY_TYPES:
        raise KeyFormatError(f"unsupported key type {key_type!r}")
    try:
        raw = base64.b64decode(blob, validate=True)
        serialization.load_ssh_public_key(f"{key_type} {blob}".encode())
    except (ValueError, TypeError, base64.binascii.Error) as exc:
        raise KeyFormatError(f"not a valid {key_type} key: {exc}") from exc
    # The blob names its own type; a mismatch means a pasted key of another type.
    name_len = int.from_bytes(raw[:4], "big")
    if raw[4 : 4 + name_len].decode(errors="replace") != key_type:
        raise KeyFormatError("the key type does not match the key data")
    return key_type, blob


def fingerprint(key_base64: str) -> str:
    """SHA256 fingerprint exactly as `ssh-keygen -l` shows it (unpadded base64)."""
    digest = hashlib.sha256(base64.b64decode(key_base64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def public_line_from_private(private_key: str) -> str:
    """Validate a private key (OpenSSH or PEM, unencrypted) and return its public line."""
    data = (private_key or "").strip().encode() + b"\n"
    loaders = (
        lambda d: serialization.load_ssh_private_key(d, password=None),
        lambda d: serialization.load_pem_private_key(d, password=None),
    )
    for load in loaders:
        try:
            key = load(data)
        except (ValueError, TypeError):
            continue
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        return public.decode()
    # Never echo the key itself into the message: it ends up in forms and logs.
    raise KeyFormatError("not an unencrypted OpenSSH or PEM private key")
