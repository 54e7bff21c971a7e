"""Filters for the NOC dashboard: state badges that always carry a word and an icon beside
their colour, and humanized durations, bytes and ages."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from hosts.health.verdicts import state_tone

register = template.Library()

ICONS = {"ok": "✔", "info": "●", "warning": "▲", "critical": "✖", "unknown": "?"}


@register.filter
def tone(value) -> str:
    return state_tone(value)


@register.filter
def badge(value, label=None):
    """`{{ state|badge }}` → a pill with icon and word; `{{ tone|badge:"text" }}` shows
    `text` in the tone `tone`. Text is escaped: states come from hosts."""
    text = value if label is None else label
    kind = tone(value) if str(value) not in ICONS else str(value)
    if text in (None, ""):
        text = "unknown"
    return format_html(
        '<span class="badge badge-{}"><span aria-hidden="true">{}</span> {}</span>',
        kind,
        ICONS[kind],
        text,
    )


@register.filter
def duration(seconds) -> str:
    """3725 → "1h 2m"; 75 → "1m 15s"; None → "—"."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(float(seconds))
    if seconds < 0:
        seconds = 0
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


@register.filter
def bytesize(value) -> str:
    """Binary units, one decimal: 1536 → "1.5 KiB"."""
    if value is None or value == "":
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


@register.filter
def age(value) -> str:
    """Seconds since `value` as "4m 10s ago"; "never" for None."""
    if value is None:
        return "never"
    if isinstance(value, datetime):
        value = (timezone.now() - value).total_seconds()
    return f"{duration(value)} ago"


@register.filter
def ago(value):
    """A <time> whose text is the age; static/js/ages.js keeps the text current between
    refreshes, so a 204 "nothing changed" answer never leaves an age frozen."""
    if value is None:
        return mark_safe('<span class="muted">never</span>')
    return format_html(
        '<time datetime="{}" data-age title="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z"),
        age(value),
    )


@register.filter
def pct(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.0f}%"


@register.filter
def get(mapping, key):
    """dict lookup with a variable key: `{{ by_host|get:host.pk }}`."""
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def thousands(value) -> str:
    """12000 -> "12,000"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{int(value):,}"


@register.filter
def tile(view, prefix: str):
    """A healthy cluster's tile in one node: the overview draws hundreds of them, and one
    format_html costs a fraction of an included template."""
    return format_html(
        '<li class="tile tile-{}"><a href="{}{}/"><span class="tile-name">{}</span> {}{}'
        '<span class="tile-detail">{}</span></a></li>',
        view.tone,
        prefix,
        view.id,
        view.name,
        badge(view.tone, view.word),
        format_html(' <span class="muted">{}</span>', view.customer) if view.customer else "",
        view.summary,
    )
