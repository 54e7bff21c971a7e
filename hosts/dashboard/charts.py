"""Server-rendered SVG charts: pure functions from numbers to markup, no I/O, no clock.

CSP forbids inline style, so colours come from classes in app.css (`series-N`, `tone-*`) and
shapes use presentation attributes. Colour is never the only signal: series also differ by
dash pattern, the legend names them, and every chart carries a text summary for readers who
cannot see it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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


def timeline(
    lanes: Sequence[tuple[str, Sequence[Mark]]],
    *,
    title: str,
    start: datetime,
    end: datetime,
    width: int = 720,
) -> SafeString:
    """Events of several hosts on one time axis, one lane per host (the failover timeline).
    Each mark is a tone-shaped glyph with its text in a tooltip and, when room allows, beside."""
    lane_h = 34
    height = PAD_TOP + lane_h * max(len(lanes), 1) + 24
    left = 110
    plot_w = width - left - PAD_RIGHT
    span = max((end - start).total_seconds(), 1.0)
    body = []
    count = 0
    for i, (label, marks) in enumerate(lanes):
        y = PAD_TOP + i * lane_h + lane_h / 2
        body.append(
            f'<text class="legend" x="4" y="{y + 4:.1f}">{escape(label)}</text>'
            f'<line class="lane" x1="{left}" y1="{y:.1f}" x2="{width - PAD_RIGHT}" y2="{y:.1f}"/>'
        )
        last_x = -100.0
        for mark in sorted(marks, key=lambda m: m.at):
            x = left + (mark.at - start).total_seconds() / span * plot_w
            tone = mark.tone if mark.tone in MARKERS else "unknown"
            text = escape(f"{mark.at:%H:%M:%S} {mark.text}")
            body.append(
                f'<text class="marker tone-{tone}" x="{x:.1f}" y="{y + 5:.1f}" '
                f'text-anchor="middle">{MARKERS[tone]}<title>{text}</title></text>'
            )
            if x - last_x > 170:  # label only when it will not overprint its neighbour
                body.append(
                    f'<text class="tick" x="{x + 6:.1f}" y="{y - 7:.1f}">{escape(mark.text[:34])}'
                    "</text>"
                )
                last_x = x
            count += 1
    base = PAD_TOP + lane_h * max(len(lanes), 1) + 14
    body.append(
        f'<text class="tick" x="{left}" y="{base}">{start:%Y-%m-%d %H:%M:%S}</text>'
        f'<text class="tick" x="{width - PAD_RIGHT}" y="{base}" text-anchor="end">'
        f"{end:%H:%M:%S}</text>"
    )
    return _frame(width, height, f"{title}: {count} events", body)
