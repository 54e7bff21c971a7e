"""The helpers every store function shares: the poll context, reading a section, and
writing a row only when it changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hosts.freebsd import ParseError, parse
from hosts.models import Host, HostFacts, StatusEvent
from hosts.polling.plan import Section


@dataclass
class PollContext:
    host: Host
    facts: HostFacts
    now: datetime
    events: list[StatusEvent] = field(default_factory=list)
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    # Set when a stored row changed: only then (or when time-based rules are due) are the
    # health rules run again.
    dirty: bool = False
    # A counter a rule reads moved (pf states): judge again, but nothing a widget shows
    # changed beyond a counter (the dashboard's generation is not bumped for it).
    rejudge: bool = False

    def change(self, subject_type: str, subject: str, fld: str, old, new) -> None:
        if (old or "") != (new or ""):
            self.dirty = True
            self.events.append(
                StatusEvent(
                    host=self.host,
                    at=self.now,
                    subject_type=subject_type,
                    subject=subject[:200],
                    field=fld,
                    old=str(old or "")[:100],
                    new=str(new or "")[:100],
                )
            )

    def metric(self, name: str, subject: str, value) -> None:
        if value is not None:
            self.metrics.append((name, subject, float(value)))


def read(ctx: PollContext, subsystem: str, section: Section | None):
    """Parse one section. Returns the result, or None after recording why it is unusable.
    A result with parse_errors is returned too (with `clean` False) so what was read is kept."""
    if section is None:
        ctx.errors[subsystem] = "no output (the poll was cut short)"
        return None
    if section.exit_status not in (0, None):
        first = section.output.strip().splitlines()[:1]
        detail = f": {first[0][:200]}" if first else ""
        if section.exit_status == 127:
            detail = ": command not found"
        ctx.errors[subsystem] = f"{section.command.shell!r} exited {section.exit_status}{detail}"
        return None
    try:
        result = parse(section.command.kind, section.output, section.command.columns)
    except ParseError as exc:
        ctx.errors[subsystem] = f"unreadable output of {section.command.shell!r}: {exc}"
        return None
    if result.parse_errors:
        ctx.errors[subsystem] = (
            f"partly unreadable output of {section.command.shell!r}: {result.parse_errors[0]}"
        )
    return result


def clean(ctx: PollContext, subsystem: str) -> bool:
    return subsystem not in ctx.errors


def save_if_changed(obj, values: dict, ctx: PollContext, counters: frozenset = frozenset()) -> bool:
    """Write `values` to `obj` if any differs. A change of `counters` alone (session counts:
    no rule reads them) writes just those fields and does not make the poll dirty."""
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    counters_only = changed and all(k in counters for k in changed)
    if counters_only and obj.pk is not None and getattr(obj, "gone_at", None) is None:
        for k in changed:
            setattr(obj, k, values[k])
        obj.save(update_fields=changed)
        return True
    if obj.pk is None or changed or getattr(obj, "gone_at", None) is not None:
        for k, v in values.items():
            setattr(obj, k, v)
        if hasattr(obj, "gone_at"):
            obj.gone_at = None
        if hasattr(obj, "changed_at"):
            obj.changed_at = ctx.now
        obj.save()
        ctx.dirty = True
        return True
    return False


def mark_gone(rows, keep_pks: set[int], ctx: PollContext, subject_type: str, label) -> None:
    """Mark the already-loaded `rows` that this poll did not see as gone."""
    for obj in rows:
        if obj.pk is None or obj.pk in keep_pks or obj.gone_at is not None:
            continue
        obj.gone_at = ctx.now
        obj.save(update_fields=["gone_at"])
        ctx.dirty = True
        ctx.change(subject_type, label(obj), "present", "yes", "gone")
