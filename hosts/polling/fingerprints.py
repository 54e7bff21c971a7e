"""Change detection for polls: a fingerprint per section that ignores what is only a counter.

Owns the answer to "did anything a rule or a page cares about change since the last stored
poll?", so the poller can take its one-UPDATE fast path when nothing did. Most sections are
fingerprinted on their exact bytes and exit status. Three change on every poll of a quiet
host because they carry counters (pf's searches and uptime, HAProxy's sessions and byte
counts, seconds since a server's last change); they are fingerprinted on the state their
parser reads out of them instead, and their counters are stored once a minute with the
metric samples. A counter section that does not parse is fingerprinted on its bytes, so
odd output is never mistaken for "unchanged".

Pure: no Django, no I/O. It must not decide what to store or judge: the poller does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from hosts.freebsd import ParseError, parse


def _pf_state(result) -> Any:
    # The state-table size is a counter: stored with the metrics (once a minute), compared
    # between pair members by the state_tables_diverged rule when the samples land. No
    # Status line read: no state to vouch for (None: fingerprint the bytes).
    return None if result.enabled is None else ("enabled", result.enabled)


def _haproxy_stat_state(result) -> Any:
    return [
        (
            proxy.name,
            None if proxy.backend is None else proxy.backend.get("status"),
            [
                (s.name, s.status, s.weight, s.check_status, s.fields.get("addr"))
                for s in proxy.servers
            ],
        )
        for proxy in result.proxies
    ]


def _haproxy_servers_state(result) -> Any:
    return [
        (s.backend, s.name, s.address, s.op_state, s.admin_state, s.port) for s in result.servers
    ]


# Kind of section -> the state its parsed result carries, without counters.
STATE_OF: dict[str, Callable[[Any], Any]] = {
    "pfctl-info": _pf_state,
    "haproxy-stat": _haproxy_stat_state,
    "haproxy-servers-state": _haproxy_servers_state,
}
COUNTER_KINDS = frozenset(STATE_OF)


def section_fingerprint(kind: str | None, output: str, exit_status: int | None) -> str:
    """A short digest of what a section says: its bytes, or for a counter-bearing kind the
    state read from it (parse errors included, so a half-read output never looks clean)."""
    text = output
    state_of = STATE_OF.get(kind or "")
    if state_of is not None and exit_status == 0:
        try:
            result = parse(kind, output)
        except ParseError:
            result = None
        state = None if result is None or result.parse_errors else state_of(result)
        if state is not None:
            text = "state:" + repr(state)
    return hashlib.blake2b(
        f"{exit_status}\0{text}".encode("utf-8", "surrogatepass"), digest_size=12
    ).hexdigest()


def poll_digest(fingerprints: Iterable[tuple[str, str]]) -> str:
    """One digest for a whole poll: the sections' keys and fingerprints, in plan order."""
    h = hashlib.blake2b(digest_size=16)
    for key, fp in fingerprints:
        h.update(f"{key}\0{fp}\n".encode())
    return h.hexdigest()
