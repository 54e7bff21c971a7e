"""zfs(8) `list` output (datasets, snapshots), text with header, -H[p] with -o columns, -j."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._common import Result, parse_ratio, parse_size, split_fields, split_lines, to_number
from ._zjson import load, looks_like_json, obj, text_of

DEFAULT_COLUMNS = ("name", "used", "avail", "refer", "mountpoint")
# Columns whose values are text even when they look like numbers or sizes.
_TEXT_COLUMNS = {
    "name",
    "mountpoint",
    "origin",
    "type",
    "creation",
    "clones",
    "receive_resume_token",
}
_CREATION_RE = re.compile(r"^\w{3} \w{3} +\d{1,2} +\d{1,2}:\d{2} \d{4}$")
_SIZE_RE = re.compile(r"^\d+(?:\.\d+)?[KMGTPEZ]$")


@dataclass(frozen=True)
class Dataset(Result):
    name: str
    kind: str
    properties: dict[str, int | float | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ZfsListResult(Result):
    datasets: tuple[Dataset, ...]
    columns: tuple[str, ...] = ()
    parse_errors: tuple[str, ...] = ()


def _kind(name: str) -> str:
    """Snapshots and bookmarks are recognisable by name (pool/fs@snap, pool/fs#mark)."""
    return "snapshot" if "@" in name else "bookmark" if "#" in name else "dataset"


def convert(column: str, value: str) -> int | float | str | None:
    """'-' → None; -p numbers → int; human sizes ('1.49T') → bytes; '1.00x' → float."""
    if value in ("-", ""):
        return None
    if column in _TEXT_COLUMNS:
        n = to_number(value) if column == "creation" else None  # -p prints epoch seconds
        return n if n is not None else value
    n = to_number(value)
    if n is not None:
        return n
    if _SIZE_RE.match(value):
        return parse_size(value)
    if value[-1:] in "xX" and parse_ratio(value) is not None:
        return parse_ratio(value)
    return value


def _merge(tokens: list[str], cols: tuple[str, ...]) -> list[str] | None:
    """Header output splits on spaces; re-join a `creation` date and a spaced last column."""
    tokens = list(tokens)
    if "creation" in cols and len(tokens) > len(cols):
        i = cols.index("creation")
        joined = " ".join(tokens[i : i + 5])
        if _CREATION_RE.match(joined):
            tokens[i : i + 5] = [joined]
    if len(tokens) > len(cols) and cols:
        tokens[len(cols) - 1 :] = [" ".join(tokens[len(cols) - 1 :])]
    return tokens if len(tokens) == len(cols) else None


def _from_json(text: str) -> ZfsListResult:
    data = load(text)
    out = []
    for d in obj(data.get("datasets")).values():
        d = obj(d)
        name = text_of(d.get("name")) or ""
        props: dict[str, int | float | str | None] = {}
        for key, p in obj(d.get("properties")).items():
            value = text_of(obj(p).get("value")) if isinstance(p, dict) else text_of(p)
            props[str(key)] = convert(str(key), value) if value is not None else None
        out.append(Dataset(name, (text_of(d.get("type")) or _kind(name)).lower(), props))
    errors = () if "datasets" in data else ("JSON has no 'datasets' object",)
    return ZfsListResult(tuple(out), (), errors)


def parse_zfs_list(text: str, columns: list[str] | tuple[str, ...] | None = None):
    """Parse `zfs list` (header), `zfs list -H[p] -o a,b,c` or `zfs list -j`.

    Columns come from the header line, else from `columns` (the `-o` list), else zfs's default
    (name,used,avail,refer,mountpoint). Values: `-` → null, numbers → numbers, human sizes →
    bytes, ratios → float, dates/paths stay strings. `kind` is snapshot/bookmark/dataset from
    the name. Rows that do not fit the columns are reported in parse_errors (name kept).
    """
    if looks_like_json(text):
        return _from_json(text)
    errors: list[str] = []
    cols = tuple(c.strip().lower() for c in columns) if columns else None
    from_header = False
    datasets: list[Dataset] = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        tokens = split_fields(line, tab_separated=not from_header)
        if tokens and tokens[0] == "NAME" and not datasets:
            cols, from_header = tuple(t.lower() for t in tokens), True
            continue
        use = cols or DEFAULT_COLUMNS
        fitted = _merge(tokens, use) if len(tokens) != len(use) else tokens
        if fitted is None:
            errors.append(f"line {lineno}: {len(tokens)} fields, expected {len(use)}")
            fitted = tokens[:1] if "name" in use[:1] else []
            if not fitted:
                continue
        values = dict(zip(use, fitted, strict=False))
        name = values.get("name", "")
        props = {k: convert(k, v) for k, v in values.items() if k != "name"}
        datasets.append(Dataset(name, _kind(name), props))
    return ZfsListResult(tuple(datasets), cols or DEFAULT_COLUMNS, tuple(errors))
