"""Server-rendered SVG charts: pure functions from numbers to markup, no I/O, no clock.

CSP forbids inline style, so colours come from classes in app.css (`series-N`, `tone-*`) and
shapes use presentation attributes. Colour is never the only signal: series also differ by
dash pattern, the legend names them, and every chart carries a text summary for readers who
cannot see it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from django.utils.safestring import SafeString, mark_safe

DASHES = ("", "6 3", "2 3", "8 3 2 3")
MARKERS = {"ok": "▲", "warning": "◆", "critical": "✖", "info": "●", "unknown": "?"}
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 10, 10, 34


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class Mark:
    at: datetime
    text: str
    tone: str = "info"


def _safe(svg: str) -> SafeString:
    # Every text piece above went through escape(); the rest are numbers and fixed strings.
    return mark_safe(svg)  # noqa: S308


def _num(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _clock(at: datetime, span_s: float) -> str:
    return at.strftime("%H:%M" if span_s < 86400 else "%m-%d %H:%M")


def _frame(width: int, height: int, label: str, body: list[str]) -> SafeString:
    return _safe(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def line_chart(
    series: Sequence[Series], *, title: str, unit: str = "", width: int = 480, height: int = 150
) -> SafeString:
    """Lines over a shared time axis; y starts at 0 so two members' values compare honestly."""
    points = [p for s in series for p in s.points]
    if not points:
        return _safe(f'<p class="muted chart-empty">{escape(title)}: no samples yet.</p>')
    t0 = min(p[0] for p in points)
    t1 = max(p[0] for p in points)
    span = max((t1 - t0).total_seconds(), 1.0)
    vmax = max(max(p[1] for p in points), 1.0)
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM

    def xy(at: datetime, value: float) -> str:
        x = PAD_LEFT + (at - t0).total_seconds() / span * plot_w
        y = PAD_TOP + plot_h - value / vmax * plot_h
        return f"{x:.1f},{y:.1f}"

    body = [
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{width - PAD_RIGHT}" '
        f'y2="{PAD_TOP + plot_h}"/>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" '
        f'y2="{PAD_TOP + plot_h}"/>',
        f'<text class="tick" x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end">'
        f"{_num(vmax)}{escape(unit)}</text>",
        f'<text class="tick" x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end">0</text>',
        f'<text class="tick" x="{PAD_LEFT}" y="{height - 20}">{_clock(t0, span)}</text>',
        f'<text class="tick" x="{width - PAD_RIGHT}" y="{height - 20}" text-anchor="end">'
        f"{_clock(t1, span)}</text>",
    ]
    summary = []
    legend_x = PAD_LEFT
    for i, s in enumerate(series):
        cls = f"series-{i % len(DASHES)}"
        dash = DASHES[i % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        pts = sorted(s.points)
        if pts:
            path = " ".join(xy(at, v) for at, v in pts)
            body.append(f'<polyline class="line {cls}" fill="none"{dash_attr} points="{path}"/>')
            # The latest point gets a dot, so a series of one sample is still visible.
            x, y = xy(*pts[-1]).split(",")
            body.append(f'<circle class="dot {cls}" cx="{x}" cy="{y}" r="3"/>')
            summary.append(f"{s.label}: {_num(pts[0][1])} → {_num(pts[-1][1])}{unit}")
        body.append(
            f'<line class="line {cls}" x1="{legend_x}" y1="{height - 6}" x2="{legend_x + 18}" '
            f'y2="{height - 6}"{dash_attr}/>'
            f'<text class="legend" x="{legend_x + 22}" y="{height - 2}">{escape(s.label)}</text>'
        )
        legend_x += 30 + 7 * len(s.label)
    return _frame(width, height, f"{title}. " + "; ".join(summary), body)


def bar_chart(
    bars: Sequence[tuple[str, float, str]],
    *,
    title: str,
    unit: str = "",
    width: int = 480,
    height: int = 130,
) -> SafeString:
    """One bar per (label, value, tone); failed runs get the critical tone and a ✖ above."""
    if not bars:
        return _safe(f'<p class="muted chart-empty">{escape(title)}: no runs yet.</p>')
    vmax = max(max(b[1] for b in bars), 1.0)
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    step = plot_w / len(bars)
    body = [
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{width - PAD_RIGHT}" '
        f'y2="{PAD_TOP + plot_h}"/>',
        f'<text class="tick" x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end">'
        f"{_num(vmax)}{escape(unit)}</text>",
        f'<text class="tick" x="{PAD_LEFT}" y="{height - 18}">{escape(bars[0][0])}</text>',
        f'<text class="tick" x="{width - PAD_RIGHT}" y="{height - 18}" text-anchor="end">'
        f"{escape(bars[-1][0])}</text>",
    ]
    for i, (label, value, tone) in enumerate(bars):
        h = value / vmax * plot_h
        x = PAD_LEFT + i * step + step * 0.15
        y = PAD_TOP + plot_h - h
        body.append(
            f'<rect class="bar tone-{escape(tone)}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{step * 0.7:.1f}" height="{h:.1f}"><title>{escape(label)}: '
            f"{_num(value)}{escape(unit)}</title></rect>"
        )
        if tone == "critical":
            body.append(
                f'<text class="marker tone-critical" x="{x + step * 0.35:.1f}" y="{y - 2:.1f}" '
                f'text-anchor="middle">✖</text>'
            )
    last = bars[-1]
    label = f"{title}. Last: {last[0]} {_num(last[1])}{unit}; max {_num(vmax)}{unit}"
    return _frame(width, height, label, body)


# The failover timeline zooms to the events: events closer than BURST_GAP form one burst
# (a failover is a few events within seconds), each burst gets its own stretch of the axis,
# and the quiet time between bursts is cut out and labelled. On one linear axis two
# failovers 25 minutes apart sat at its two ends, their marks overprinting each other.
BURST_GAP_S = 300
GAP_W = 44  # px of axis that stands for a cut-out quiet stretch
LABEL_CHARS = 34
CHAR_W = 6.2  # px per character of a tick label (12 px sans), to keep labels inside
MAX_BURSTS = 4  # the most recent bursts shown; older events stay in the event list below


@dataclass(frozen=True)
class _Segment:
    start: datetime
    end: datetime
    x0: float
    x1: float

    def x(self, at: datetime) -> float:
        span = max((self.end - self.start).total_seconds(), 1.0)
        return self.x0 + (at - self.start).total_seconds() / span * (self.x1 - self.x0)


def _bursts(times: list[datetime]) -> list[tuple[datetime, datetime]]:
    bursts: list[list[datetime]] = []
    for at in sorted(times):
        if bursts and (at - bursts[-1][-1]).total_seconds() <= BURST_GAP_S:
            bursts[-1].append(at)
        else:
            bursts.append([at])
    return [(b[0], b[-1]) for b in bursts]


def _segments(
    times: list[datetime], start: datetime, end: datetime, x0: float, x1: float
) -> list[_Segment]:
    """One stretch of axis per burst, padded so its first and last marks sit inside."""
    bursts = _bursts(times)[-MAX_BURSTS:] or [(start, end)]
    width = (x1 - x0 - GAP_W * (len(bursts) - 1)) / len(bursts)
    segments = []
    for i, (first, last) in enumerate(bursts):
        pad = timedelta(seconds=max(10.0, (last - first).total_seconds() * 0.15))
        left = x0 + i * (width + GAP_W)
        segments.append(_Segment(first - pad, last + pad, left, left + width))
    return segments


def _span_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def timeline(
    lanes: Sequence[tuple[str, Sequence[Mark]]],
    *,
    title: str,
    start: datetime,
    end: datetime,
    width: int = 720,
) -> SafeString:
    """Events of several hosts on one time axis, one lane per host (the failover timeline).
    Each mark is a tone-shaped glyph with its text in a tooltip and, when room allows, beside.
    The axis zooms to bursts of events (see BURST_GAP_S); `start`/`end` only frame a
    timeline without events."""
    lane_h = 34
    height = PAD_TOP + lane_h * max(len(lanes), 1) + 24
    left = 110
    right = width - PAD_RIGHT
    segments = _segments([m.at for _l, marks in lanes for m in marks], start, end, left, right)

    def segment_of(at: datetime) -> _Segment:
        return min(segments, key=lambda g: abs((at - g.start) + (at - g.end)))

    body = []
    count = hidden = 0
    for i, (label, marks) in enumerate(lanes):
        y = PAD_TOP + i * lane_h + lane_h / 2
        body.append(f'<text class="legend" x="4" y="{y + 4:.1f}">{escape(label)}</text>')
        for g in segments:
            body.append(
                f'<line class="lane" x1="{g.x0:.1f}" y1="{y:.1f}" x2="{g.x1:.1f}" y2="{y:.1f}"/>'
            )
        last_end = -100.0
        for mark in sorted(marks, key=lambda m: m.at):
            if mark.at < segments[0].start:
                hidden += 1
                continue
            x = segment_of(mark.at).x(mark.at)
            tone = mark.tone if mark.tone in MARKERS else "unknown"
            text = escape(f"{mark.at:%H:%M:%S} {mark.text}")
            body.append(
                f'<text class="marker tone-{tone}" x="{x:.1f}" y="{y + 5:.1f}" '
                f'text-anchor="middle">{MARKERS[tone]}<title>{text}</title></text>'
            )
            short = mark.text[:LABEL_CHARS]
            room = len(short) * CHAR_W
            # Beside the mark on its right, or on its left near the chart's right edge.
            lx, anchor = (x + 8, "start") if x + 8 + room <= right else (x - 8, "end")
            lo = lx if anchor == "start" else lx - room
            if lo > last_end + 4 and lo >= 0:  # never overprint the previous label
                body.append(
                    f'<text class="tick" x="{lx:.1f}" y="{y - 7:.1f}" text-anchor="{anchor}">'
                    f"{escape(short)}</text>"
                )
                last_end = lo + room
            count += 1
    base = PAD_TOP + lane_h * max(len(lanes), 1) + 14
    for i, g in enumerate(segments):
        body.append(
            f'<text class="tick" x="{g.x0:.1f}" y="{base}">{g.start:%H:%M:%S}</text>'
            f'<text class="tick" x="{g.x1:.1f}" y="{base}" text-anchor="end">'
            f"{g.end:%H:%M:%S}</text>"
        )
        if i:
            quiet = (g.start - segments[i - 1].end).total_seconds()
            mid = (segments[i - 1].x1 + g.x0) / 2
            body.append(
                f'<text class="tick" x="{mid:.1f}" y="{base - 18}" text-anchor="middle">'
                f"⋯ {_span_text(quiet)} ⋯</text>"
            )
    day = f"{segments[0].start:%Y-%m-%d}"
    earlier = f", {hidden} earlier not drawn" if hidden else ""
    return _frame(width, height, f"{title} ({day}): {count} events{earlier}", body)
