"""Each overview widget computed once per (generation, epoch) and reused by every viewer.

A widget's data and its rendered partial are a function of the stored rows, the filters and
the clock. The rows are covered by the generation (hosts/dashboard/generation.py: it grows
in the same transaction as any change a widget shows), the filters are in the key, and the
clock by the epoch: `NYIOPS_DASHBOARD_EPOCH` seconds (10, the fastest widget's refresh), after
which an entry is no longer used. The epoch is what brings, without any write, a host's
staleness, a backup growing overdue and the counters sampled once a minute (pf states,
sessions: they do not bump the generation, or the firewall widget would change ten times
a second at 1,000 hosts) to the screen, at most one epoch late; a change that is stored
shows on the next refresh. A poll's fast path (one UPDATE, no bump) can only move a host's
last good poll, i.e. its staleness: the epoch covers it too.

Two levels: a small dict in this process (no pickling: a hit costs a look-up) in front of
Django's cache (`CACHE_URL`: local memory by default, Redis to share between web processes).

Scoping: the key holds `scope` ("noc": every NOC page is staff-only and staff see the whole
fleet). A widget shown to customers must put its tenant in the scope, never share "noc".

A shared cache that cannot be reached (Redis down) is a miss: each process computes and
keeps its own entries, logged, and the page is served.

Must not: decide what a widget shows (the builders do) or swallow a builder's error."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from hosts.dashboard.common import Filters, digest

log = logging.getLogger(__name__)

# What a shared cache that cannot be reached raises (Django's RedisCache: redis-py's errors,
# refused or timed out); anything else is a bug and is not taken for an outage.
UNREACHABLE = (RedisError, OSError)

LOCAL_ENTRIES = 128  # per process: 7 widgets, a few filter sets, two generations each


def epoch_seconds() -> int:
    return int(getattr(settings, "NYIOPS_DASHBOARD_EPOCH", 10))


class _Local:
    """A bounded, thread-safe LRU of this process's entries."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


LOCAL = _Local(LOCAL_ENTRIES)


def key(name: str, filters: Filters, generation: int, scope: str = "noc") -> str:
    """The cache key of one widget for these filters, at this generation and epoch."""
    epoch = int(time.time() // epoch_seconds())
    return f"nyiops:dash:{scope}:{name}:{digest(filters.querystring())}:{generation}:{epoch}"


def remember(cache_key: str, compute: Callable[[], object]):
    """The value under `cache_key`, computed by `compute` once per key and process (and
    once per key for all processes sharing a Django cache that is not local memory)."""
    value = LOCAL.get(cache_key)
    if value is not None:
        return value
    try:
        value = cache.get(cache_key)
    except UNREACHABLE as exc:
        # Redis down: this process computes (and keeps) its own copy, as with a local cache.
        log.warning("Dashboard cache unreachable (%s): computing %s here", exc, cache_key)
        value = None
    if value is None:
        value = compute()
        try:
            cache.set(cache_key, value, timeout=2 * epoch_seconds())
        except UNREACHABLE as exc:
            log.warning("Dashboard cache unreachable (%s): %s kept here only", exc, cache_key)
    LOCAL.put(cache_key, value)
    return value


def clear() -> None:
    """Forget this process's entries (tests; Django's cache is cleared by its own clear())."""
    LOCAL.clear()
