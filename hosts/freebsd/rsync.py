"""rsync(1) `--stats` output (plain, comma-grouped or `-h`), with its error/warning lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._common import Result, parse_size, split_lines, to_int, to_number

# "Label: value" lines → our key. rsync 3.1+ says "regular files transferred", 3.0 "files".
_LABELS = {
    "Number of files": "files_total",
    "Number of created files": "files_created",
    "Number of deleted files": "files_deleted",
    "Number of regular files transferred": "files_transferred",
    "Number of files transferred": "files_transferred",
    "Total file size": "total_file_size",
    "Total transferred file size": "total_transferred_size",
    "Literal data": "literal_data",
    "Matched data": "matched_data",
    "File list size": "file_list_size",
    "Total bytes sent": "bytes_sent",
    "Total bytes received": "bytes_received",
}
_COUNTS = {"files_total", "files_created", "files_deleted", "files_transferred"}
_ERROR_RE = re.compile(r"^(?:rsync(?: error| warning)?:|ERROR:|@ERROR:)")
_CODE_RE = re.compile(r"\(code (\d{1,3})\)")
_SENT_RE = re.compile(r"^sent (\S+) bytes\s+received (\S+) bytes\s+(\S+) bytes/sec")
_TOTAL_RE = re.compile(r"^total size is (\S+)\s+speedup is (\S+)(.*)$")
_BREAKDOWN_RE = re.compile(r"(\w+): ([\d,.]+)")


@dataclass(frozen=True)
class RsyncStats(Result):
    files_total: int | None
    files_transferred: int | None
    total_file_size: int | None
    total_transferred_size: int | None
    literal_data: int | None
    matched_data: int | None
    bytes_sent: int | None
    bytes_received: int | None
    error_lines: tuple[str, ...]
    exit_code: int | None
    files_created: int | None = None
    files_deleted: int | None = None
    file_list_size: int | None = None
    files_by_type: dict[str, int] = field(default_factory=dict)
    bytes_per_sec: float | None = None
    speedup: float | None = None
    dry_run: bool = False
    sizes_approximate: bool = False
    parse_errors: tuple[str, ...] = ()


def _size(value: str) -> tuple[int | None, bool]:
    """'478,738' → exact; '86.94G' → 1000-based (a single -h; -hh means 1024)."""
    value = value.strip().removesuffix("bytes").strip()
    exact = to_int(value)
    if exact is not None:
        return exact, False
    return parse_size(value, base=1000), True


def parse_rsync_stats(text: str) -> RsyncStats:
    """Parse the `--stats` block and summary lines of an rsync run.

    Sizes are bytes; `-h` values such as `86.94G` are converted with 1000-based units (what a
    single `-h` prints) and flagged by `sizes_approximate`. Every `rsync:`, `rsync error:`,
    `rsync warning:`, `ERROR:` or `@ERROR:` line goes in `error_lines`; `exit_code` is the last
    `(code N)` seen, else null.
    """
    values: dict[str, int | None] = {}
    by_type: dict[str, int] = {}
    errors: list[str] = []
    error_lines: list[str] = []
    exit_code: int | None = None
    approx = dry_run = False
    rate = speedup = None
    for lineno, line in enumerate(split_lines(text), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if _ERROR_RE.match(stripped):
            error_lines.append(stripped)
        code = _CODE_RE.search(stripped)
        if code and ("rsync" in stripped or "ERROR" in stripped):
            exit_code = int(code.group(1))
        label, sep, rest = stripped.partition(": ")
        if sep and label in _LABELS:
            key = _LABELS[label]
            main = rest.split("(", 1)[0].strip()
            if key in _COUNTS:
                values[key] = to_int(main)
                if "(" in rest and key == "files_total":
                    by_type = {k: n for k, v in _BREAKDOWN_RE.findall(rest)
                               if (n := to_int(v)) is not None}  # fmt: skip
            else:
                values[key], was_approx = _size(main)
                approx = approx or was_approx
            if values[key] is None:
                errors.append(f"line {lineno}: unreadable value for {label!r}")
            continue
        sent = _SENT_RE.match(stripped)
        if sent:
            for key, raw in (("bytes_sent", sent.group(1)), ("bytes_received", sent.group(2))):
                if values.get(key) is None:
                    values[key], was_approx = _size(raw)
                    approx = approx or was_approx
            rate = _rate(sent.group(3))
            continue
        total = _TOTAL_RE.match(stripped)
        if total:
            if values.get("total_file_size") is None:
                values["total_file_size"], was_approx = _size(total.group(1))
                approx = approx or was_approx
            sp = to_number(total.group(2))
            speedup = float(sp) if sp is not None else None
            dry_run = "DRY RUN" in total.group(3)
    return RsyncStats(
        files_total=values.get("files_total"),
        files_transferred=values.get("files_transferred"),
        total_file_size=values.get("total_file_size"),
        total_transferred_size=values.get("total_transferred_size"),
        literal_data=values.get("literal_data"),
        matched_data=values.get("matched_data"),
        bytes_sent=values.get("bytes_sent"),
        bytes_received=values.get("bytes_received"),
        error_lines=tuple(error_lines),
        exit_code=exit_code,
        files_created=values.get("files_created"),
        files_deleted=values.get("files_deleted"),
        file_list_size=values.get("file_list_size"),
        files_by_type=by_type,
        bytes_per_sec=rate,
        speedup=speedup,
        dry_run=dry_run,
        sizes_approximate=approx,
        parse_errors=tuple(errors),
    )


def _rate(value: str) -> float | None:
    n = to_number(value)
    if n is not None:
        return float(n)
    size = parse_size(value, base=1000)
    return float(size) if size is not None else None
