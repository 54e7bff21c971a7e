"""`uname -a` and `freebsd-version` output."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Result, split_lines

# 14.1-RELEASE-p5, 15.0-CURRENT, 13.2-STABLE, 14.0-RC2, 10.1-RELEASE-p10
_VERSION_RE = re.compile(
    r"^(?P<major>\d{1,3})\.(?P<minor>\d{1,3})-(?P<branch>[A-Z]+[0-9]*)(?:-p(?P<patch>\d{1,4}))?$"
)


@dataclass(frozen=True)
class Version(Result):
    text: str
    major: int | None
    minor: int | None
    branch: str | None
    patch: int | None


def _version(text: str) -> Version:
    m = _VERSION_RE.match(text)
    if not m:
        return Version(text, None, None, None, None)
    patch = m.group("patch")
    return Version(
        text, int(m.group("major")), int(m.group("minor")), m.group("branch"),
        int(patch) if patch else None,
    )  # fmt: skip


@dataclass(frozen=True)
class UnameResult(Result):
    sysname: str | None
    nodename: str | None
    release: Version | None
    version: str | None
    machine: str | None
    kernel_ident: str | None
    parse_errors: tuple[str, ...] = ()


def parse_uname(text: str) -> UnameResult:
    """Parse `uname -a`: `sysname nodename release version... machine`.

    The version field has spaces (`FreeBSD 14.0-RELEASE #0 releng/14.0-n265380-...: <date>
    root@host:/usr/obj/.../sys/GENERIC`), so the machine is the last word; the kernel ident is
    the last path component of the build directory, or the word before the machine in the
    short form (`... r354233 GENERIC  amd64`).
    """
    lines = [ln for ln in split_lines(text) if ln.strip()]
    if not lines:
        return UnameResult(None, None, None, None, None, None, ("empty input",))
    errors = [f"line {i}: extra line ignored" for i in range(2, len(lines) + 1)]
    tokens = lines[0].split()
    if len(tokens) < 4:
        errors.insert(0, "line 1: too few fields for uname -a")
        return UnameResult(tokens[0], tokens[1] if len(tokens) > 1 else None,
                           _version(tokens[2]) if len(tokens) > 2 else None,
                           None, None, None, tuple(errors))  # fmt: skip
    version_tokens = tokens[3:-1]
    ident = None
    for tok in reversed(version_tokens):
        if "/" in tok and ":" in tok:
            ident = tok.rstrip("/").rsplit("/", 1)[-1] or None
            break
    else:
        if version_tokens and re.fullmatch(r"[A-Z][A-Z0-9_\-]*", version_tokens[-1]):
            ident = version_tokens[-1]
    return UnameResult(
        sysname=tokens[0],
        nodename=tokens[1],
        release=_version(tokens[2]),
        version=" ".join(version_tokens) or None,
        machine=tokens[-1],
        kernel_ident=ident,
        parse_errors=tuple(errors),
    )


@dataclass(frozen=True)
class FreebsdVersionResult(Result):
    versions: tuple[Version, ...]
    parse_errors: tuple[str, ...] = ()


def parse_freebsd_version(text: str) -> FreebsdVersionResult:
    """Parse `freebsd-version [-kru]`: one version per line, in the order the flags asked
    (kernel, running, userland); without flags the single line is the userland version."""
    versions: list[Version] = []
    errors: list[str] = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        v = _version(line.strip())
        if v.major is None:
            errors.append(f"line {lineno}: not a FreeBSD version")
        versions.append(v)
    return FreebsdVersionResult(tuple(versions), tuple(errors))
