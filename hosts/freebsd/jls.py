"""jls(8) output: default table, -v (multi-line), -N, -n/-s (name=value), -h, libxo JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._common import Result, split_lines, to_int
from ._zjson import load, looks_like_json, obj

_TOKEN_RE = re.compile(r"""(?:[^\s"']|"[^"]*"|'[^']*')+""")
_QUOTED_RE = re.compile(r""""[^"]*"|'[^']*'""")
_PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Jail(Result):
    jid: int | None
    name: str | None
    hostname: str | None
    path: str | None
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]
    state: str | None = None
    cpusetid: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JlsResult(Result):
    jails: tuple[Jail, ...]
    parse_errors: tuple[str, ...] = ()


def _split_ips(values: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ips = [v.strip() for item in values for v in str(item).split(",") if v.strip()]
    return tuple(i for i in ips if ":" not in i), tuple(i for i in ips if ":" in i)


def _from_params(params: dict[str, Any]) -> Jail:
    """A jail from jail(8) parameter names (jls -n/-s/-h, libxo JSON)."""
    ip4: list[str] = []
    ip6: list[str] = []
    for key in ("ip4.addr", "ipv4", "ipv4_addrs", "ip6.addr", "ipv6", "ipv6_addrs", "ip_addrs"):
        value = params.get(key)
        items = value if isinstance(value, list) else [value] if value else []
        four, six = _split_ips([i for i in items if isinstance(i, (str, int))])
        ip4.extend(four)
        ip6.extend(six)
    dying = params.get("dying")
    state = params.get("state") or ({True: "DYING", False: "ACTIVE"}.get(dying) if
                                    isinstance(dying, bool) else None)  # fmt: skip
    jid = params.get("jid")
    return Jail(
        jid=jid if isinstance(jid, int) and not isinstance(jid, bool) else to_int(str(jid or "")),
        name=_str(params.get("name")),
        hostname=_str(params.get("host.hostname", params.get("hostname"))),
        path=_str(params.get("path")),
        ipv4=tuple(dict.fromkeys(ip4)),
        ipv6=tuple(dict.fromkeys(ip6)),
        state=_str(state),
        cpusetid=to_int(str(params.get("cpuset.id", params.get("cpusetid", "")))),
        params=params,
    )


def _str(value: Any) -> str | None:
    return None if value is None or value == "" or isinstance(value, (dict, list)) else str(value)


def _nameval(tokens: list[str]) -> dict[str, Any]:
    """`jls -n`: name=value, booleans as `name` / `noname` (`ip4.nosaddrsel`)."""
    params: dict[str, Any] = {}
    for tok in tokens:
        key, sep, value = tok.partition("=")
        if sep:
            params[key] = value
        else:
            last = key.rsplit(".", 1)
            if last[-1].startswith("no"):
                params[".".join([*last[:-1], last[-1][2:]])] = False
            else:
                params[key] = True
    return params


def _tokens(line: str) -> list[str] | None:
    """Split like jls quotes: a value holding spaces is wrapped whole in " or ' (quoted_print
    picks the quote the value does not contain, so there are no escapes). None if unbalanced."""
    tokens = _TOKEN_RE.findall(line)
    leftover = _TOKEN_RE.sub("", line)
    if '"' in leftover or "'" in leftover:
        return None  # a quote was left open
    return [_QUOTED_RE.sub(lambda m: m.group(0)[1:-1], t) for t in tokens]


def _from_json(text: str) -> JlsResult:
    data = load(text)
    jails = obj(data.get("jail-information")).get("jail")
    if not isinstance(jails, list):
        return JlsResult((), ("JSON has no jail-information.jail list",))
    return JlsResult(tuple(_from_params(dict(obj(j))) for j in jails if isinstance(j, dict)))


def _table_row(tokens: list[str], by_name: bool) -> Jail:
    """Default `jls` row: JID (or name with -N), IP, hostname, path; the IP is blank for
    jails without one (VNET), and IPv6 addresses show up there on IPv6-only jails."""
    first, rest = tokens[0], tokens[1:]
    ip = None
    if len(rest) >= 3:
        ip, rest = rest[0], rest[1:]
    hostname = rest[0] if rest else None
    path = " ".join(rest[1:]) or None
    four, six = _split_ips([ip] if ip and ip != "-" else [])
    return Jail(to_int(first) if not by_name else None, first if by_name else None,
                hostname, path, four, six)  # fmt: skip


def parse_jls(text: str) -> JlsResult:
    """Parse `jls`, `jls -N`, `jls -v`, `jls -n`/`-s`, `jls -h param...` or `jls --libxo json`.

    The form is recognised from the header (`JID  IP Address ...`, the four-line `-v`
    header) or the content (`key=value` tokens, a header of parameter names). In `-v` output
    each jail is a `JID hostname path` line followed by 8-space-indented `name state`,
    `cpusetid` and one line per IP address.
    """
    if looks_like_json(text):
        return _from_json(text)
    lines = [(n, ln) for n, ln in enumerate(split_lines(text), 1) if ln.strip()]
    errors: list[str] = []
    jails: list[Jail] = []
    if not lines:
        return JlsResult((), ())
    head = lines[0][1].split()
    if head[:1] == ["JID"] and "Address" in head:
        for lineno, line in lines[1:]:
            tokens = line.split()
            if len(tokens) < 2:
                errors.append(f"line {lineno}: too few fields")
                continue
            jails.append(_table_row(tokens, by_name=to_int(tokens[0]) is None))
        return JlsResult(tuple(jails), tuple(errors))
    if head[:2] == ["JID", "Hostname"]:
        return _parse_verbose(lines)
    header: list[str] | None = None
    for lineno, line in lines:
        tokens = _tokens(line)
        if tokens is None:
            errors.append(f"line {lineno}: unbalanced quotes")
            continue
        if any("=" in t for t in tokens):
            jails.append(_from_params(_nameval(tokens)))
        elif header is None and all(_PARAM_RE.match(t) for t in tokens) and lineno == lines[0][0]:
            header = tokens
        elif header is not None:
            if len(tokens) != len(header):
                errors.append(f"line {lineno}: {len(tokens)} values for {len(header)} params")
            params = dict(zip(header, tokens, strict=False))
            if "jid" in params:
                params["jid"] = to_int(params["jid"])
            jails.append(_from_params(params))
        else:
            errors.append(f"line {lineno}: unrecognised jls line")
    return JlsResult(tuple(jails), tuple(errors))


def _parse_verbose(lines: list[tuple[int, str]]) -> JlsResult:
    jails: list[dict] = []
    errors: list[str] = []
    for lineno, line in lines:
        tokens = line.split()
        indent = len(line) - len(line.lstrip())
        if tokens[0] in ("JID", "Name", "CPUSetID", "IP") and not jails:
            continue
        if indent < 8 and to_int(tokens[0]) is not None and len(tokens) >= 2:
            jails.append({"jid": to_int(tokens[0]), "host.hostname": tokens[1],
                          "path": " ".join(tokens[2:]) or None, "extra": []})  # fmt: skip
        elif jails:
            jails[-1]["extra"].append(line.strip())
        else:
            errors.append(f"line {lineno}: line before the first jail")
    out = []
    for j in jails:
        extra = j.pop("extra")
        if extra:
            name_state = extra[0].split()
            j["name"] = name_state[0] if name_state else None
            j["state"] = name_state[1] if len(name_state) > 1 else None
        if len(extra) > 1:
            j["cpuset.id"] = extra[1]
        j["ip_addrs"] = extra[2:]
        out.append(_from_params(j))
    return JlsResult(tuple(out), tuple(errors))
