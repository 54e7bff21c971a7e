"""Helpers shared by the parsers: line splitting, number/size conversion, to_dict."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import Any

from .errors import ParseError

# zpool, zfs and (with -hh) rsync print sizes with 1024-based suffixes.
_SUFFIX_POWER = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6, "Z": 7}
# Digit counts are capped: no real counter has 40 digits, and int() refuses >4300-digit strings.
_SIZE_RE = re.compile(r"^(\d{1,40}(?:\.\d{1,40})?)\s*([BKMGTPEZ]?)(?:i?B)?$", re.IGNORECASE)
_INT_RE = re.compile(r"^[+-]?\d{1,40}$")
_FLOAT_RE = re.compile(r"^[+-]?\d{1,40}\.\d{1,40}$")


class Result:
    """Mixin for frozen result dataclasses: a JSON-ready dict of the fields."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Result) and type(value).to_dict is not Result.to_dict:
            return value.to_dict()
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def check_text(text: object) -> str:
    """Parsers take str; anything else is a caller bug reported as ParseError."""
    if not isinstance(text, str):
        raise ParseError(f"expected text (str), got {type(text).__name__}")
    return text


def split_lines(text: object) -> list[str]:
    """Lines without terminators; CRLF/CR endings (captured through terminals) are normalised."""
    return check_text(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def to_int(value: str | None) -> int | None:
    """A plain (optionally comma-grouped) integer, else None."""
    if value is None:
        return None
    v = value.strip().replace(",", "")
    if _INT_RE.match(v):
        return int(v)
    return None


def to_number(value: str | None) -> int | float | None:
    """An int, or a float for decimal text, else None ('-', '', words)."""
    if value is None:
        return None
    v = value.strip().replace(",", "")
    if _INT_RE.match(v):
        return int(v)
    if _FLOAT_RE.match(v):
        return float(v)
    return None


def scalar(value: str) -> int | str:
    """Integers become ints; everything else stays the string as printed."""
    n = to_int(value) if "," not in value else None
    return n if n is not None else value


def parse_size(value: str | None, base: int = 1024) -> int | None:
    """'1.49T' / '26.16K' / '0B' / '12345' → bytes (suffix powers of `base`); '-' → None."""
    if value is None:
        return None
    v = value.strip().replace(",", "")
    m = _SIZE_RE.match(v)
    if not m:
        return None
    number, suffix = m.group(1), m.group(2).upper()
    # Decimal keeps exact byte counts exact (float would round 8556084379648-sized values).
    return int((Decimal(number) * base ** _SUFFIX_POWER[suffix]).to_integral_value())


def parse_percent(value: str | None) -> int | float | None:
    """'82%' → 82, '82.1%' → 82.1, '4' → 4, '-' → None."""
    if value is None:
        return None
    return to_number(value.strip().rstrip("%"))


def parse_ratio(value: str | None) -> float | None:
    """'1.83x' or '1.00' → float; '-' → None."""
    if value is None:
        return None
    n = to_number(value.strip().rstrip("xX"))
    return None if n is None else float(n)


def split_fields(line: str, tab_separated: bool) -> list[str]:
    """-H output is tab-separated (values may hold spaces); header output is space-aligned.
    Samples copied through web pages lose their tabs, so fall back to whitespace runs."""
    if tab_separated and "\t" in line:
        return [f.strip() for f in line.strip("\n").split("\t")]
    return line.split()
