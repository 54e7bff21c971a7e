"""Parsers for FreeBSD, OpenZFS, HAProxy and rsync command output.

Every parser is a pure function `text -> frozen dataclass` with `to_dict()` and a
`parse_errors` tuple; the only exception they raise is `ParseError`. `parse(kind, text)`
dispatches by the KIND names used by `manage.py freebsd_parse` and the poller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ParseError
from .gmirror import parse_gmirror_list, parse_gmirror_status
from .haproxy import parse_haproxy_info, parse_haproxy_servers_state, parse_haproxy_stat
from .ifconfig import parse_ifconfig
from .jls import parse_jls
from .pfctl import parse_pfctl_info
from .rsync import parse_rsync_stats
from .sysctl import parse_sysctl
from .system import parse_freebsd_version, parse_uname
from .zfs import parse_zfs_list
from .zpool import parse_zpool_list, parse_zpool_status

Result = Any  # each parser returns its own frozen dataclass; all have to_dict()/parse_errors

PARSERS: dict[str, Callable[[str], Result]] = {
    "ifconfig": parse_ifconfig,
    "sysctl": parse_sysctl,
    "pfctl-info": parse_pfctl_info,
    "gmirror-status": parse_gmirror_status,
    "gmirror-list": parse_gmirror_list,
    "zpool-status": parse_zpool_status,
    "zpool-list": parse_zpool_list,
    "zfs-list": parse_zfs_list,
    "jls": parse_jls,
    "haproxy-stat": parse_haproxy_stat,
    "haproxy-servers-state": parse_haproxy_servers_state,
    "haproxy-info": parse_haproxy_info,
    "rsync-stats": parse_rsync_stats,
    "uname": parse_uname,
    "freebsd-version": parse_freebsd_version,
}

# Kinds whose parser accepts the -o column list of a headerless -H run.
COLUMN_KINDS = frozenset({"zpool-list", "zfs-list"})


def parse(kind: str, text: str, columns: list[str] | tuple[str, ...] | None = None) -> Result:
    """Parse `text` as output of `kind`; unknown kind → ValueError naming the known ones."""
    try:
        parser = PARSERS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(sorted(PARSERS))}") from None
    if columns is not None:
        if kind not in COLUMN_KINDS:
            raise ValueError(f"kind {kind!r} takes no columns")
        return parser(text, columns=columns)  # type: ignore[call-arg]
    return parser(text)


__all__ = [
    "COLUMN_KINDS",
    "PARSERS",
    "ParseError",
    "parse",
    "parse_freebsd_version",
    "parse_gmirror_list",
    "parse_gmirror_status",
    "parse_haproxy_info",
    "parse_haproxy_servers_state",
    "parse_haproxy_stat",
    "parse_ifconfig",
    "parse_jls",
    "parse_pfctl_info",
    "parse_rsync_stats",
    "parse_sysctl",
    "parse_uname",
    "parse_zfs_list",
    "parse_zpool_list",
    "parse_zpool_status",
]
