"""`zpool list` (text with header, -H[p] with chosen -o columns, -v, -j JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._common import Result, parse_percent, parse_ratio, parse_size, split_fields, split_lines
from ._zjson import load, looks_like_json, obj, prop

# zpool list's default columns (OpenZFS 2.x), used for headerless -H input without columns=.
DEFAULT_COLUMNS = ("name", "size", "alloc", "free", "ckpoint", "expandsz", "frag", "cap",
                   "dedup", "health", "altroot")  # fmt: skip
# Header titles and -o property names → our keys (illumos/Solaris used USED/AVAIL).
_ALIASES = {
    "allocated": "alloc", "used": "alloc", "avail": "free", "checkpoint": "ckpoint",
    "expandsize": "expandsz", "fragmentation": "frag", "capacity": "cap", "dedupratio": "dedup",
}  # fmt: skip
_SIZES = ("size", "alloc", "free", "ckpoint", "expandsz")
_SECTIONS = ("logs", "log", "cache", "spare", "spares", "special", "dedup")


@dataclass(frozen=True)
class ListVdev(Result):
    name: str
    depth: int
    size: int | None
    alloc: int | None
    free: int | None
    frag_pct: int | float | None
    cap_pct: int | float | None
    health: str | None


@dataclass(frozen=True)
class ListPool(Result):
    name: str
    size: int | None
    alloc: int | None
    free: int | None
    frag_pct: int | float | None
    cap_pct: int | float | None
    health: str | None
    ckpoint: int | None = None
    expandsz: int | None = None
    dedup_ratio: float | None = None
    altroot: str | None = None
    exact: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    vdevs: tuple[ListVdev, ...] = ()


@dataclass(frozen=True)
class ZpoolListResult(Result):
    pools: tuple[ListPool, ...]
    columns: tuple[str, ...] = ()
    parse_errors: tuple[str, ...] = ()


def _key(column: str) -> str:
    c = column.strip().lower()
    return _ALIASES.get(c, c)


def _value(v: str | None) -> str | None:
    return None if v is None or v in ("-", "") else v


def _fields(values: dict[str, str]) -> dict:
    sizes = {k: parse_size(_value(values.get(k))) for k in _SIZES}
    exact = all(values.get(k, "").isdigit() for k in _SIZES if _value(values.get(k)))
    return {
        **sizes,
        "frag_pct": parse_percent(_value(values.get("frag"))),
        "cap_pct": parse_percent(_value(values.get("cap"))),
        "health": _value(values.get("health")),
        "exact": exact and any(_value(values.get(k)) for k in _SIZES),
    }


def _pool(values: dict[str, str], vdevs: tuple[ListVdev, ...] = ()) -> ListPool:
    f = _fields(values)
    known = {"name", "dedup", "altroot", "frag", "cap", "health", *_SIZES}
    return ListPool(
        name=values.get("name", ""),
        size=f["size"], alloc=f["alloc"], free=f["free"],
        frag_pct=f["frag_pct"], cap_pct=f["cap_pct"], health=f["health"],
        ckpoint=f["ckpoint"], expandsz=f["expandsz"],
        dedup_ratio=parse_ratio(_value(values.get("dedup"))),
        altroot=_value(values.get("altroot")),
        exact=f["exact"],
        properties={k: v for k, v in values.items() if k not in known},
        vdevs=vdevs,
    )  # fmt: skip


def _from_json(text: str) -> ZpoolListResult:
    data = load(text)
    pools = []
    for p in obj(data.get("pools")).values():
        props = obj(obj(p).get("properties"))
        values = {"name": str(obj(p).get("name", ""))}
        for key, names in (("size", ("size",)), ("alloc", ("allocated", "alloc")),
                           ("free", ("free",)), ("ckpoint", ("checkpoint",)),
                           ("expandsz", ("expandsize",)), ("frag", ("fragmentation",)),
                           ("cap", ("capacity",)), ("dedup", ("dedupratio",)),
                           ("health", ("health",)), ("altroot", ("altroot",))):  # fmt: skip
            value = prop(props, *names)
            if value is not None:
                values[key] = value
        if "health" not in values and isinstance(obj(p).get("state"), str):
            values["health"] = obj(p)["state"]
        pools.append(_pool(values))
    errors = () if "pools" in data else ("JSON has no 'pools' object",)
    return ZpoolListResult(tuple(pools), (), errors)


def parse_zpool_list(text: str, columns: list[str] | tuple[str, ...] | None = None):
    """Parse `zpool list [-v]`, `zpool list -H[p] [-o cols]` or `zpool list -j`.

    With a `NAME ...` header the header names the columns; otherwise `columns` (the `-o`
    list) does, defaulting to zpool's default column order. Sizes become bytes (exact with
    -p; `exact` says so), FRAG/CAP percentages numbers, DEDUP a float; `-` is null. Unknown
    columns are kept as strings in `properties`. With -v, indented rows become `vdevs`.
    """
    if looks_like_json(text):
        return _from_json(text)
    errors: list[str] = []
    cols = tuple(_key(c) for c in columns) if columns else None
    from_header = False
    pools: list[tuple[dict, list[ListVdev]]] = []
    section: str | None = None
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        tokens = split_fields(line, tab_separated=not from_header)
        if tokens and tokens[0] == "NAME" and not pools:
            cols, from_header = tuple(_key(t) for t in tokens), True
            continue
        use = cols or DEFAULT_COLUMNS
        if len(tokens) != len(use):
            if from_header and len(tokens) > len(use):
                tokens = [*tokens[: len(use) - 1], " ".join(tokens[len(use) - 1 :])]
            elif not (from_header and line[:1].isspace()):
                errors.append(f"line {lineno}: {len(tokens)} fields, expected {len(use)}")
                if cols is None:  # shape unknown: only the name (always first) is certain
                    tokens = tokens[:1]
        values = dict(zip(use, tokens, strict=False))
        indent = len(line) - len(line.lstrip())
        if from_header and (indent > 0 or (pools and values.get("name") in _SECTIONS)):
            if not pools:
                errors.append(f"line {lineno}: vdev row before any pool")
                continue
            if indent == 0:
                section = values.get("name")
            f = _fields(values)
            depth = indent // 2 + (section is not None)
            vdev = ListVdev(values.get("name", ""), depth, f["size"], f["alloc"], f["free"],
                            f["frag_pct"], f["cap_pct"], f["health"])  # fmt: skip
            pools[-1][1].append(vdev)
            continue
        section = None
        pools.append((values, []))
    result = tuple(_pool(v, tuple(vd)) for v, vd in pools)
    return ZpoolListResult(result, cols or DEFAULT_COLUMNS, tuple(errors))
