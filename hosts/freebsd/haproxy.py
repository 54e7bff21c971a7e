"""HAProxy runtime API output: `show stat` (CSV), `show servers state`, `show info`."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any

from ._common import Result, scalar, split_lines, to_int

# show stat "type" column: 0 frontend, 1 backend, 2 server, 3 listener.
_TYPES = {0: "frontend", 1: "backend", 2: "server", 3: "listener"}
_OP_STATES = {0: "STOPPED", 1: "STARTING", 2: "RUNNING", 3: "STOPPING"}
# srv_admin_state bits (HAProxy's SRV_ADMF_*).
_ADMIN_FLAGS = ((0x01, "FMAINT"), (0x02, "IMAINT"), (0x04, "CMAINT"), (0x08, "FDRAIN"),
                (0x10, "IDRAIN"), (0x20, "RMAINT"), (0x40, "HMAINT"))  # fmt: skip
_TYPED_RE = re.compile(r"^\d+\.(?P<name>[^.:\s]+)\.\d+:[^:]*:[^:]*:(?P<value>.*)$")


def _cell(value: str) -> int | str | None:
    return None if value == "" else scalar(value)


@dataclass(frozen=True)
class Server(Result):
    name: str
    status: str | None
    weight: int | None
    check_status: str | None
    scur: int | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Proxy(Result):
    name: str
    frontend: dict[str, Any] | None
    backend: dict[str, Any] | None
    servers: tuple[Server, ...]
    listeners: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StatResult(Result):
    proxies: tuple[Proxy, ...]
    columns: tuple[str, ...] = ()
    parse_errors: tuple[str, ...] = ()


def _row_type(row: dict[str, Any]) -> str:
    t = row.get("type")
    if isinstance(t, int) and t in _TYPES:
        return _TYPES[t]
    sv = row.get("svname")
    return {"FRONTEND": "frontend", "BACKEND": "backend"}.get(str(sv), "server")


def parse_haproxy_stat(text: str) -> StatResult:
    """Parse `show stat` CSV from any HAProxy version.

    Columns are mapped by the `# pxname,svname,...` header, never by position, so added
    columns are simply more keys. Rows are grouped by proxy (and process id, for nbproc
    setups): the FRONTEND row, the BACKEND row (with `status` as printed: UP, DOWN, ...),
    server rows and listener rows. Empty cells are null; numbers become ints.
    """
    errors: list[str] = []
    header: list[str] | None = None
    proxies: dict[tuple, dict] = {}
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            if header is None:
                names = [c.strip() for c in line.lstrip("#").strip().split(",")]
                while names and not names[-1]:  # trailing comma
                    names.pop()
                header = names
            continue
        if header is None:
            errors.append(f"line {lineno}: data before the '# pxname,svname,...' header")
            continue
        try:
            cells = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            errors.append(f"line {lineno}: unreadable CSV")
            continue
        while len(cells) > len(header) and cells[-1] == "":
            cells.pop()
        if len(cells) > len(header):
            errors.append(f"line {lineno}: {len(cells) - len(header)} cells beyond the header")
        row = {name: _cell(cells[i]) if i < len(cells) else None for i, name in enumerate(header)}
        pxname, svname = row.get("pxname"), row.get("svname")
        if pxname is None or svname is None:
            errors.append(f"line {lineno}: row without pxname/svname")
            continue
        key = (str(pxname), row.get("pid"))
        proxy = proxies.setdefault(key, {"frontend": None, "backend": None, "servers": [],
                                         "listeners": []})  # fmt: skip
        kind = _row_type(row)
        if kind in ("frontend", "backend"):
            if proxy[kind] is not None:
                errors.append(f"line {lineno}: second {kind} row for {pxname}")
            proxy[kind] = row
        elif kind == "listener":
            proxy["listeners"].append(row)
        else:
            w = row.get("weight")
            proxy["servers"].append(Server(
                name=str(svname),
                status=_str(row.get("status")),
                weight=w if isinstance(w, int) else None,
                check_status=_str(row.get("check_status")),
                scur=row.get("scur") if isinstance(row.get("scur"), int) else None,
                fields=row,
            ))  # fmt: skip
    if header is None and not errors:
        errors.append("no '# pxname,svname,...' header found")
    out = tuple(
        Proxy(name, p["frontend"], p["backend"], tuple(p["servers"]), tuple(p["listeners"]))
        for (name, _pid), p in proxies.items()
    )
    return StatResult(out, tuple(header or ()), tuple(errors))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class ServerState(Result):
    backend: str | None
    name: str | None
    address: str | None
    op_state: int | None
    admin_state: int | None
    admin_flags: tuple[str, ...]
    op_state_name: str | None = None
    port: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServersStateResult(Result):
    servers: tuple[ServerState, ...]
    version: int | None = None
    parse_errors: tuple[str, ...] = ()


def decode_admin_state(value: int) -> tuple[str, ...]:
    """srv_admin_state bits → names (FMAINT, IMAINT, CMAINT, FDRAIN, IDRAIN, RMAINT, HMAINT);
    bits HAProxy may add later are kept as hex so nothing is silently dropped."""
    names = [name for bit, name in _ADMIN_FLAGS if value & bit]
    unknown = value & ~0x7F
    if unknown:
        names.append(hex(unknown))
    return tuple(names)


def parse_haproxy_servers_state(text: str) -> ServersStateResult:
    """Parse `show servers state [backend]`: a format version line (`1`), a `# be_id be_name
    ...` header, then space-separated rows mapped by header name. `-` values are null."""
    errors: list[str] = []
    header: list[str] | None = None
    version: int | None = None
    servers: list[ServerState] = []
    for lineno, line in enumerate(split_lines(text), 1):
        tokens = line.split()
        if not tokens:
            continue
        if (
            header is None
            and version is None
            and len(tokens) == 1
            and to_int(tokens[0]) is not None
        ):
            version = to_int(tokens[0])
            continue
        if line.startswith("#"):
            header = line.lstrip("#").split()
            continue
        if header is None:
            errors.append(f"line {lineno}: data before the '# be_id ...' header")
            continue
        if len(tokens) != len(header):
            errors.append(f"line {lineno}: {len(tokens)} fields for {len(header)} columns")
        row = {n: (None if t == "-" else scalar(t)) for n, t in zip(header, tokens, strict=False)}
        op, admin = row.get("srv_op_state"), row.get("srv_admin_state")
        op = op if isinstance(op, int) else None
        admin = admin if isinstance(admin, int) else None
        port = row.get("srv_port")
        servers.append(ServerState(
            backend=_str(row.get("be_name")),
            name=_str(row.get("srv_name")),
            address=_str(row.get("srv_addr")),
            op_state=op,
            admin_state=admin,
            admin_flags=decode_admin_state(admin) if admin is not None else (),
            op_state_name=_OP_STATES.get(op) if op is not None else None,
            port=port if isinstance(port, int) else None,
            fields=row,
        ))  # fmt: skip
    if version not in (None, 1):
        errors.append(f"unknown servers state format version {version}; read by header names")
    return ServersStateResult(tuple(servers), version, tuple(errors))


@dataclass(frozen=True)
class InfoResult(Result):
    fields: dict[str, int | str]
    parse_errors: tuple[str, ...] = ()


def parse_haproxy_info(text: str) -> InfoResult:
    """Parse `show info` (`Name: value` lines; also the `show info typed` form
    `0.Name.1:POS:str:HAProxy`). Integer values become ints; versions and uptimes stay text."""
    fields: dict[str, int | str] = {}
    errors: list[str] = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        typed = _TYPED_RE.match(line)
        if typed:
            fields[typed.group("name")] = scalar(typed.group("value").strip())
            continue
        name, sep, value = line.partition(":")
        if sep and name.strip() and " " not in name.strip():
            fields[name.strip()] = scalar(value.strip())
        else:
            errors.append(f"line {lineno}: not a 'Name: value' line")
    return InfoResult(fields, tuple(errors))
