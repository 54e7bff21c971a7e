"""zpool(8) `status` and `list` output: text (any OpenZFS/illumos era) and `-j` JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ._common import Result, parse_size, split_lines
from ._zjson import looks_like_json, status_from_json
from ._zscan import NO_SCAN, Scan, parse_scan

# Header keys of a pool block; anything indented under one continues it.
_KEYS = ("pool", "id", "state", "status", "action", "see", "scan", "scrub", "remove",
         "checkpoint", "expand", "config", "errors", "comment", "dedup")  # fmt: skip
_KEY_RE = re.compile(r"^\s*(?P<key>[a-z]+):(?:\s(?P<value>.*)|$)")
_SECTIONS = {"logs": "logs", "cache": "cache", "spares": "spares", "special": "special",
             "dedup": "dedup"}  # fmt: skip
_COUNT_COLS = ("READ", "WRITE", "CKSUM", "SLOW")
_MAX_DEPTH = 32  # real trees are 4 deep; this bounds recursion on hostile input
_ERRCOUNT_RE = re.compile(r"^(\d{1,20}) data errors")


@dataclass(frozen=True)
class Vdev(Result):
    name: str
    state: str | None
    read: int | None
    write: int | None
    cksum: int | None
    children: tuple[Vdev, ...] = ()
    note: str | None = None
    was: str | None = None
    slow: int | None = None


@dataclass(frozen=True)
class Pool(Result):
    name: str | None
    state: str | None
    status: str | None
    action: str | None
    scan: Scan
    vdevs: tuple[Vdev, ...]
    logs: tuple[Vdev, ...]
    cache: tuple[Vdev, ...]
    spares: tuple[Vdev, ...]
    errors: str | None
    special: tuple[Vdev, ...] = ()
    dedup: tuple[Vdev, ...] = ()
    see: str | None = None
    error_count: int | None = None
    error_files: tuple[str, ...] = ()
    root: Vdev | None = None


@dataclass(frozen=True)
class ZpoolStatusResult(Result):
    pools: tuple[Pool, ...]
    messages: tuple[str, ...] = ()
    parse_errors: tuple[str, ...] = ()


def parse_count(token: str) -> int | None:
    """READ/WRITE/CKSUM: exact with -p, else nicenum with 1024-based suffixes ('2.72K')."""
    return parse_size(token) if token and token[-1:] != "B" else None


def _vdev_row(line: str, ncounts: int) -> dict:
    tokens = line.split()
    row: dict = {"name": tokens[0], "state": None, "counts": [], "note": None}
    if len(tokens) > 1:
        row["state"] = tokens[1]
    i = 2
    while i < len(tokens) and len(row["counts"]) < ncounts:
        n = parse_count(tokens[i])
        if n is None:
            break
        row["counts"].append(n)
        i += 1
    if i < len(tokens):
        row["note"] = " ".join(tokens[i:])
    return row


def _build(row: dict, count_names: list[str]) -> Vdev:
    counts = dict(zip(count_names, row["counts"], strict=False))
    note = row["note"]
    was = None
    if note and note.startswith("was "):
        was = note[4:].strip() or None
    return Vdev(
        name=row["name"],
        state=row["state"],
        read=counts.get("READ"),
        write=counts.get("WRITE"),
        cksum=counts.get("CKSUM"),
        children=tuple(_build(c, count_names) for c in row["children"]),
        note=note,
        was=was,
        slow=counts.get("SLOW"),
    )


def _parse_config(lines: list[tuple[int, str]], errors: list[str]) -> dict[str, list[Vdev]]:
    """The NAME/STATE/READ/WRITE/CKSUM tree; nesting comes from indentation, whatever its step."""
    count_names = ["READ", "WRITE", "CKSUM"]
    roots: list[dict] = []
    stack: list[tuple[int, dict]] = []
    for lineno, line in lines:
        tokens = line.split()
        if tokens[:2] == ["NAME", "STATE"]:
            count_names = [t for t in tokens[2:] if t in _COUNT_COLS]
            continue
        indent = len(line) - len(line.lstrip())
        row = _vdev_row(line, len(count_names))
        row["children"] = []
        row["line"] = lineno
        while stack and (stack[-1][0] >= indent or len(stack) >= _MAX_DEPTH):
            stack.pop()
        if stack:
            stack[-1][1]["children"].append(row)
        else:
            roots.append(row)
        stack.append((indent, row))
    out: dict[str, list[Vdev]] = {"root": [], "vdevs": []}
    for row in roots:
        section = _SECTIONS.get(row["name"]) if row["state"] is None else None
        if section:
            out.setdefault(section, []).extend(_build(c, count_names) for c in row["children"])
        elif not out["root"]:
            out["root"].append(_build(row, count_names))
        else:
            errors.append(f"line {row['line']}: unexpected top-level vdev {row['name']!r}")
            out["vdevs"].append(_build(row, count_names))
    return out


def _finish(block: dict, errors: list[str]) -> Pool:
    f = block["fields"]
    tree = _parse_config(block["config"], errors)
    root = tree["root"][0] if tree["root"] else None
    errtext = f.get("errors")
    err_first = errtext.split("\n", 1)[0].rstrip() if errtext is not None else None
    count: int | None = None
    if err_first is not None:
        m = _ERRCOUNT_RE.match(err_first)
        count = int(m.group(1)) if m else (0 if err_first == "No known data errors" else None)
    files = tuple(x.strip() for x in (errtext or "").split("\n")[1:] if x.strip())
    scan_lines = f.get("scan", f.get("scrub"))
    return Pool(
        name=(f.get("pool") or "").strip() or None,
        state=(f.get("state") or "").strip() or None,
        status=_join(f.get("status")),
        action=_join(f.get("action")),
        scan=parse_scan(scan_lines.split("\n")) if scan_lines is not None else NO_SCAN,
        vdevs=(root.children if root else ()) + tuple(tree["vdevs"]),
        logs=tuple(tree.get("logs", ())),
        cache=tuple(tree.get("cache", ())),
        spares=tuple(tree.get("spares", ())),
        errors=err_first,
        special=tuple(tree.get("special", ())),
        dedup=tuple(tree.get("dedup", ())),
        see=_join(f.get("see")),
        error_count=count,
        error_files=files,
        root=replace(root, children=()) if root else None,
    )


def _join(value: str | None) -> str | None:
    """Wrapped status/action text → one line, as zpool would print it on a wide terminal."""
    if value is None:
        return None
    return " ".join(value.split()) or None


def parse_zpool_status(text: str) -> ZpoolStatusResult:
    """Parse `zpool status [-v] [-p] [-P] [-x]` for one or many pools, or `zpool status -j`.

    Each `pool:` line starts a pool; `state/status/action/see/scan/config/errors` keys may be
    indented by any amount and continue over indented lines. The config tree is read by
    indentation: the pool's root vdev, then `logs`, `cache`, `spares`, `special`, `dedup`
    sections. Counters accept exact numbers and 1024-based suffixes. Trailing notes such as
    `(resilvering)` or `was /dev/ada1p3` go in `note` / `was`. Lines outside any pool (`all pools
    are healthy`, `no pools available`) go in `messages`.
    """
    if looks_like_json(text):
        return status_from_json(text, _json_builders())
    errors: list[str] = []
    messages: list[str] = []
    blocks: list[dict] = []
    block: dict | None = None
    key: str | None = None
    for lineno, line in enumerate(split_lines(text), 1):
        m = _KEY_RE.match(line)
        # Inside config:, indented lines are vdevs even if they look like "name:" keys.
        in_tree = key == "config" and line[:1].isspace() and bool(m) and m.group("key") != "errors"
        if m and m.group("key") in _KEYS and not in_tree:
            key = m.group("key")
            value = (m.group("value") or "").strip()
            if key == "pool" or block is None:
                if key != "pool":
                    errors.append(f"line {lineno}: {key!r} before any 'pool:' line")
                block = {"fields": {}, "config": []}
                blocks.append(block)
            block["fields"][key] = value
            continue
        if not line.strip():
            continue
        if block is None or key is None:
            messages.append(line.strip())
            continue
        if key == "config":
            block["config"].append((lineno, line))
        elif key == "errors" or line[:1].isspace():
            block["fields"][key] += "\n" + line.strip()
        else:
            errors.append(f"line {lineno}: unrecognised line")
    pools = tuple(_finish(b, errors) for b in blocks)
    return ZpoolStatusResult(pools, tuple(messages), tuple(errors))


def _json_builders() -> dict:
    return {"Vdev": Vdev, "Pool": Pool, "Scan": Scan, "Result": ZpoolStatusResult,
            "count": parse_count, "size": parse_size}  # fmt: skip


# zpool list lives in its own module to keep both under the size limit; re-exported here.
from ._zlist import ListPool, ListVdev, ZpoolListResult, parse_zpool_list  # noqa: E402

__all__ = ["ListPool", "ListVdev", "Pool", "Vdev", "ZpoolListResult", "ZpoolStatusResult",
           "parse_count", "parse_zpool_list", "parse_zpool_status"]  # fmt: skip
