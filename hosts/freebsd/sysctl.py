"""sysctl(8) output: `name: value` lines (also `name=value` from `sysctl -e`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._common import Result, scalar, split_lines

# OIDs always contain a dot at the leaf level ("kern.ostype", "dev.em.0.%desc"); requiring one
# keeps stderr lines such as "sysctl: unknown oid 'x'" out of the values.
_LINE_RE = re.compile(r"^(?P<name>[A-Za-z0-9_%\-]+(?:\.[A-Za-z0-9_%\-]+)+)(?::\s?|=)(?P<value>.*)$")
_UNKNOWN_RE = re.compile(r"^sysctl: unknown oid '(?P<name>[^']*)'")


@dataclass(frozen=True)
class SysctlResult(Result):
    values: dict[str, int | str] = field(default_factory=dict)
    unknown_oids: tuple[str, ...] = ()
    parse_errors: tuple[str, ...] = ()


def parse_sysctl(text: str) -> SysctlResult:
    """Parse `sysctl name ...` or `sysctl -a` output.

    Integer values become ints, everything else stays the string as printed. Lines that do not
    start a new OID continue the previous value (`sysctl -a` has multi-line values such as
    kern.geom.conftxt). `sysctl: unknown oid 'x'` lines (stderr captured with 2>&1) are listed in
    `unknown_oids`.
    """
    values: dict[str, int | str] = {}
    raw_values: dict[str, str] = {}
    unknown: list[str] = []
    errors: list[str] = []
    last: str | None = None
    for lineno, line in enumerate(split_lines(text), 1):
        m = _LINE_RE.match(line)
        if m:
            last = m.group("name")
            raw_values[last] = m.group("value").rstrip()
            continue
        um = _UNKNOWN_RE.match(line)
        if um:
            unknown.append(um.group("name"))
            last = None
            continue
        if last is not None:
            raw_values[last] += "\n" + line.rstrip()
        elif line.strip():
            errors.append(f"line {lineno}: not a 'name: value' line")
    for name, raw in raw_values.items():
        raw = raw.rstrip("\n")
        values[name] = scalar(raw) if "\n" not in raw else raw
    return SysctlResult(values, tuple(unknown), tuple(errors))
