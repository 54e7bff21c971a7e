"""OpenZFS 2.3+ `-j` JSON (zpool status/list, zfs list) → the same results as the text parsers."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .errors import ParseError

_MAX_DEPTH = 32
_SCAN_STATE = {"FINISHED": "finished", "SCANNING": "in_progress", "CANCELED": "canceled"}


def looks_like_json(text: object) -> bool:
    return isinstance(text, str) and text.lstrip()[:1] == "{"


def load(text: str) -> dict:
    """json.loads, with every failure turned into ParseError naming the line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", exc.lineno) from exc
    except (ValueError, RecursionError) as exc:  # over-long integers, absurd nesting
        raise ParseError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError("JSON output is not an object", 1)
    return data


def obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str | None:
    """A JSON scalar as the string zpool would print; containers → None."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def prop(props: dict, *names: str) -> str | None:
    """properties.<name>.value (or a bare value with --json-int / older layouts)."""
    for name in names:
        if name in props:
            p = props[name]
            return text_of(p.get("value")) if isinstance(p, dict) else text_of(p)
    return None


def _vdevs(node: Any, b: dict, errors: list[str], depth: int) -> tuple:
    if depth > _MAX_DEPTH:
        errors.append("JSON vdev tree nested too deep; truncated")
        return ()
    return tuple(_vdev(v, b, errors, depth) for v in obj(node).values() if isinstance(v, dict))


def _vdev(v: dict, b: dict, errors: list[str], depth: int):
    count = b["count"]

    def num(key: str) -> int | None:
        t = text_of(v.get(key))
        return count(t) if t is not None else None

    return b["Vdev"](
        name=text_of(v.get("name")) or "",
        state=text_of(v.get("state")),
        read=num("read_errors"),
        write=num("write_errors"),
        cksum=num("checksum_errors"),
        children=_vdevs(v.get("vdevs"), b, errors, depth + 1),
        note=text_of(v.get("aux")),
        slow=num("slow_ios"),
    )


def _scan(stats: Any, b: dict):
    s = obj(stats)
    if not s:
        return b["Scan"](None, None, None, None)
    function = (text_of(s.get("function")) or "").upper()
    kind = {"SCRUB": "scrub", "RESILVER": "resilver"}.get(function)
    state = _SCAN_STATE.get((text_of(s.get("state")) or "").upper())
    progress = None
    total = b["size"](text_of(s.get("to_examine")))
    done = b["size"](text_of(s.get("issued")) or text_of(s.get("examined")))
    if state == "in_progress" and total and done is not None:
        progress = round(100.0 * done / total, 2)
    return b["Scan"](
        kind=kind if state else None,
        state=state,
        progress_pct=progress,
        errors=b["count"](text_of(s.get("errors")) or ""),
        text=None,
    )


def status_from_json(text: str, b: dict):
    """`zpool status -j [--json-int]`: pools.<name>.{state,status,vdevs,logs,l2cache,...}."""
    data = load(text)
    errors: list[str] = []
    pools = []
    for p in obj(data.get("pools")).values():
        if not isinstance(p, dict):
            errors.append("JSON pool entry is not an object")
            continue
        roots = _vdevs(p.get("vdevs"), b, errors, 0)
        root = roots[0] if roots else None
        count_text = text_of(p.get("error_count"))
        pools.append(
            b["Pool"](
                name=text_of(p.get("name")),
                state=text_of(p.get("state")),
                status=text_of(p.get("status")),
                action=text_of(p.get("action")),
                scan=_scan(p.get("scan_stats"), b),
                vdevs=(root.children if root else ()) + roots[1:],
                logs=_vdevs(p.get("logs"), b, errors, 1),
                cache=_vdevs(p.get("l2cache"), b, errors, 1),
                spares=_vdevs(p.get("spares"), b, errors, 1),
                errors=None,
                special=_vdevs(p.get("special"), b, errors, 1),
                dedup=_vdevs(p.get("dedup"), b, errors, 1),
                see=text_of(p.get("msgid")),
                error_count=b["count"](count_text) if count_text else None,
                root=replace(root, children=()) if root else None,
            )
        )
    if "pools" not in data:
        errors.append("JSON has no 'pools' object")
    return b["Result"](tuple(pools), (), tuple(errors))
