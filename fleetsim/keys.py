"""Persistent ed25519 keys: one host key per host (plus a spare for `hostkey-change`) and the
operations user's client key. Private keys are written 0600 from the start (os.open)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

OPS_USER = "nyiops"


def write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def load_or_create(path: Path) -> asyncssh.SSHKey:
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519", comment=path.name)
    write_private(path, key.export_private_key("openssh"))
    return key


def host_keys(state_dir: Path, names: list[str]) -> dict[str, asyncssh.SSHKey]:
    d = Path(state_dir) / "hostkeys"
    d.mkdir(exist_ok=True)
    return {n: load_or_create(d / n) for n in names}


def alt_host_key(state_dir: Path, name: str) -> asyncssh.SSHKey:
    """The key a host presents while `hostkey-change` is active (made on first use)."""
    return load_or_create(Path(state_dir) / "hostkeys" / f"{name}.alt")


def client_key(state_dir: Path) -> asyncssh.SSHKey:
    path = Path(state_dir) / "client_key"
    key = load_or_create(path)
    pub = Path(state_dir) / "client_key.pub"
    pub.write_bytes(key.export_public_key("openssh"))
    return key


def public_line(key: asyncssh.SSHKey) -> str:
    """`ssh-ed25519 AAAA...` (type and base64, no comment)."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])
