"""Store what a poll read: upsert observed rows, append a StatusEvent per state change.

Rules that keep history trustworthy:
- a subsystem whose output could not be read keeps its last good rows untouched and gets
  an entry in HostFacts.subsystem_errors (the `parse_error` finding reads it);
- rows that vanish from a complete, clean output are marked gone, never deleted;
- a row is written only when something in it changed, so an unchanged fleet costs reads only;
- events are computed against the stored rows inside the poll's transaction, so re-running
  the same poll finds nothing new and appends nothing."""

from __future__ import annotations

from hosts.polling.fingerprints import section_fingerprint
from hosts.polling.plan import Section
from hosts.polling.store.backups import store_backups
from hosts.polling.store.carp import store_carp
from hosts.polling.store.common import PollContext
from hosts.polling.store.gmirror import store_gmirror
from hosts.polling.store.haproxy import store_haproxy
from hosts.polling.store.jails import store_jails
from hosts.polling.store.metrics import metrics_due, store_metrics
from hosts.polling.store.pf import store_pf
from hosts.polling.store.system import store_system
from hosts.polling.store.zpool import store_zpools

# Each subsystem: the poll sections it reads and the function that stores them.
SUBSYSTEMS = (
    ("system", ("freebsd-version", "uname"), store_system),
    ("gmirror", ("gmirror-list",), store_gmirror),
    ("carp", ("ifconfig", "sysctl-carp"), store_carp),
    ("pf", ("pfctl-info", "pfctl-rules"), store_pf),
    ("haproxy", ("haproxy-stat", "haproxy-servers-state"), store_haproxy),
    ("jails", ("jls", "jail-conf"), store_jails),
)


# Subsystems whose sections carry counters (hosts.polling.fingerprints.COUNTER_KINDS): when
# only their counters moved they are skipped like unchanged ones, except once a minute,
# when the counters are stored with the metric samples.
COUNTER_SUBSYSTEMS = frozenset({"pf", "haproxy"})


def _unchanged(keys, fingerprints: dict[str, str], previous: dict[str, str]) -> bool:
    """Every section says what the last stored poll's said: nothing to parse or store."""
    return all(k in fingerprints and previous.get(k) == fingerprints[k] for k in keys)


def store_poll(
    ctx: PollContext, sections: list[Section], backup_jobs, fingerprints: dict | None = None
) -> None:
    """Store every section of a successful poll; call inside the poll's transaction. The
    caller saves ctx.facts and ctx.events.

    A subsystem whose sections' fingerprints did not change since the last stored poll is
    not parsed again: its rows are still true and its previous parse error (if any) still
    stands. `fingerprints` ({key: hosts.polling.fingerprints.section_fingerprint}) is
    computed here when the caller has none."""
    by_key = {s.command.key: s for s in sections}
    if fingerprints is None:
        fingerprints = {
            s.command.key: section_fingerprint(s.command.kind, s.output, s.exit_status)
            for s in sections
        }
    previous = ctx.facts.section_fingerprints or {}
    counters_due = metrics_due(ctx)
    previous_errors = dict(ctx.facts.subsystem_errors or {})
    backup_keys = tuple(k for k in by_key if k.startswith(("backup-log:", "snapshots:")))
    plan = [*SUBSYSTEMS, ("zpool", ("zpool-status", "zpool-list"), store_zpools)]
    if backup_keys:
        plan.append(("backup", backup_keys, lambda c, b: store_backups(c, b, backup_jobs)))
    for name, keys, store in plan:
        if not any(k in by_key for k in keys):
            continue  # not a subsystem of this host's roles
        if (counters_due and name in COUNTER_SUBSYSTEMS) or not _unchanged(
            keys, fingerprints, previous
        ):
            store(ctx, by_key)
        else:
            ctx.errors.update(
                {k: v for k, v in previous_errors.items() if k == name or k.startswith(name + ":")}
            )
    store_metrics(ctx)
    if ctx.errors != previous_errors:
        ctx.dirty = True
    ctx.facts.subsystem_errors = ctx.errors
    ctx.facts.section_fingerprints = fingerprints
    # The raw outputs of the last stored poll, for the host page: a poll that changes
    # nothing takes the fast path and leaves them (and the facts row) alone.
    ctx.facts.raw_outputs = {
        s.command.key: {
            "command": s.command.shell,
            "exit": s.exit_status,
            "output": s.output[:65536],
        }
        for s in sections
    }
