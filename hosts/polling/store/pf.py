"""Store pf's status (enabled, state count) and a hash of the loaded ruleset."""

from __future__ import annotations

import hashlib

from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, read


def store_pf(ctx: PollContext, sections: dict[str, Section]) -> None:
    info = read(ctx, "pf", sections.get("pfctl-info"))
    if info is not None:
        ctx.change("pf", "pf", "enabled", ctx.facts.pf_enabled, info.enabled)
        ctx.facts.pf_enabled = info.enabled
        states = info.state_table.get("current_entries")
        if states != ctx.facts.pf_states:
            # A counter, stored once a minute; the pair's state_tables_diverged rule reads it.
            ctx.rejudge = True
        ctx.facts.pf_states = states
        ctx.metric("pf_states", "", ctx.facts.pf_states)
    rules = sections.get("pfctl-rules")
    if rules is not None and rules.exit_status == 0:
        # Compared between pair members: same rules in the same order, same hash.
        normalized = "\n".join(line.strip() for line in rules.output.splitlines() if line.strip())
        digest = hashlib.sha256(normalized.encode()).hexdigest()
        ctx.change("pf", "pf", "ruleset", ctx.facts.pf_ruleset_hash[:12], digest[:12])
        ctx.facts.pf_ruleset_hash = digest
