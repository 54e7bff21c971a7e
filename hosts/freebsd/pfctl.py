"""pfctl(8) `-si` / `-s info` / `-vsi` output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._common import Result, split_lines, to_int

_STATUS_RE = re.compile(
    r"^Status:\s+(?P<word>\w+)(?:\s+for\s+(?P<days>\d+)\s+days\s+(?P<hms>\d+:\d{2}:\d{2}))?"
    r"(?:.*?Debug:\s*(?P<debug>\S+))?"
)
_TABLE_KEYS = {
    "current entries": "current_entries",
    "searches": "searches",
    "inserts": "inserts",
    "removals": "removals",
}


@dataclass(frozen=True)
class PfInfoResult(Result):
    enabled: bool | None
    state_table: dict[str, int | None]
    counters: dict[str, int]
    running_seconds: int | None = None
    debug: str | None = None
    hostid: str | None = None
    checksum: str | None = None
    limit_counters: dict[str, int] = field(default_factory=dict)
    source_tracking: dict[str, int] = field(default_factory=dict)
    sections: dict[str, dict[str, int]] = field(default_factory=dict)
    parse_errors: tuple[str, ...] = ()


def _section_name(line: str) -> str:
    # Column titles ("Total  Rate", "IPv4  IPv6") follow the section name after 2+ spaces.
    return re.split(r"\s{2,}", line.strip())[0]


def _row(line: str) -> tuple[str, int | None]:
    """'  current entries   2' / '  searches  11325  7.2/s' / '  Bytes In  10  20' → name, first
    number (the Total column; for Interface Stats the IPv4 column)."""
    tokens = line.split()
    for i, tok in enumerate(tokens):
        value = to_int(tok) if "," not in tok else None
        if value is not None and i > 0:
            return " ".join(tokens[:i]), value
    return "", None


def parse_pfctl_info(text: str) -> PfInfoResult:
    """Parse `pfctl -si` (and `-vsi`).

    `counters` holds the "Counters" section by the names pfctl prints (`state-mismatch`,
    `bad-offset`, ...); `state_table` the four State Table rows; `limit_counters` and
    `source_tracking` the `-v` sections; every other section (Syncookies, Fragments, Interface
    Stats...) lands in `sections` with its rows' first number.
    """
    enabled: bool | None = None
    running: int | None = None
    debug = hostid = checksum = None
    sections: dict[str, dict[str, int]] = {}
    errors: list[str] = []
    section: str | None = None
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        if line.startswith("Status:"):
            m = _STATUS_RE.match(line)
            if m:
                word = m.group("word")
                enabled = {"Enabled": True, "Disabled": False}.get(word)
                if enabled is None:
                    errors.append(f"line {lineno}: unknown status {word!r}")
                if m.group("hms"):
                    h, mi, s = (int(x) for x in m.group("hms").split(":"))
                    running = int(m.group("days")) * 86400 + h * 3600 + mi * 60 + s
                debug = m.group("debug")
            continue
        if line.startswith(("Hostid:", "Checksum:")):
            key, _, value = line.partition(":")
            if key == "Hostid":
                hostid = value.strip() or None
            else:
                checksum = value.strip() or None
            continue
        if not line[0].isspace():
            section = _section_name(line)
            sections.setdefault(section, {})
            continue
        name, total = _row(line)
        if name and total is not None and section is not None:
            sections[section][name] = total
        elif section is not None and line.split()[0] in ("mode", "active"):
            # Syncookies section: "  mode    never" — a word, not a number.
            continue
        else:
            errors.append(f"line {lineno}: unrecognised line")
    table = sections.pop("State Table", {})
    state_table: dict[str, int | None] = {v: table.get(k) for k, v in _TABLE_KEYS.items()}
    state_table.update({k: v for k, v in table.items() if k not in _TABLE_KEYS})
    return PfInfoResult(
        enabled=enabled,
        state_table=state_table,
        counters=sections.pop("Counters", {}),
        running_seconds=running,
        debug=debug,
        hostid=hostid,
        checksum=checksum,
        limit_counters=sections.pop("Limit Counters", {}),
        source_tracking=sections.pop("Source Tracking Table", {}),
        sections=sections,
        parse_errors=tuple(errors),
    )
