"""The programme's items as a server-rendered SVG: one row per item, oldest at the top, a line
where today falls, past items greyed. No script; it scales to the page's width."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from bot.i18n import format_date, gettext
from bot.registry.data import EventRec

ROW = 40
TOP = 56
WIDTH = 780
TODAY_ROW = 30
AXIS_X = 150
# Shapes and colours per kind; each colour has at least 4.5:1 contrast on white.
COLOURS = {"deadline": "#a4262c", "meeting": "#0b5cad", "milestone": "#2e6b30"}
PAST = "#6b6b6b"
MAX_TITLE = 66


def _marker(kind: str, x: int, y: int, colour: str) -> str:
    if kind == "deadline":
        return f'<path d="M{x} {y - 8}L{x + 8} {y}L{x} {y + 8}L{x - 8} {y}Z" fill="{colour}"/>'
    if kind == "meeting":
        return f'<circle cx="{x}" cy="{y}" r="7" fill="{colour}"/>'
    return f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="{colour}"/>'


def kind_name(kind: str, lang: str) -> str:
    """The word for an item's kind."""
    if kind == "deadline":
        return gettext(lang, "Deadline")
    if kind == "meeting":
        return gettext(lang, "Meeting")
    return gettext(lang, "Milestone")


def timeline_svg(events: Sequence[EventRec], today: date, lang: str) -> Markup:
    """The SVG (safe to put into the page as it is)."""
    items = sorted((e for e in events if not e.cancelled), key=lambda e: (e.start_date, e.key))
    height = TOP + ROW * len(items) + TODAY_ROW + 24
    label = gettext(lang, "Timeline of the programme")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="timeline-title" class="timeline">',
        f'<title id="timeline-title">{escape(label)}</title>',
    ]
    # The legend.
    x = 10
    for kind in ("deadline", "meeting", "milestone"):
        out.append(_marker(kind, x + 8, 20, COLOURS[kind]))
        out.append(
            f'<text x="{x + 22}" y="25" font-size="15" fill="#1a1a1a">'
            f"{escape(kind_name(kind, lang))}</text>"
        )
        x += 170
    out.append(
        f'<line x1="{AXIS_X}" y1="{TOP - 10}" x2="{AXIS_X}" y2="{height - 10}" '
        'stroke="#8a8a8a" stroke-width="2"/>'
    )
    today_drawn = False
    top = TOP
    for event in items:
        past = event.end_date < today
        if not today_drawn and event.start_date >= today:
            # Today gets a row of its own, so its label never covers an item.
            today_drawn = True
            out.append(_today_line(top + TODAY_ROW // 2, today, lang))
            top += TODAY_ROW
        y = top + ROW // 2
        top += ROW
        colour = PAST if past else COLOURS.get(event.kind, COLOURS["milestone"])
        title = event.title(lang)
        short = title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"
        when = format_date(event.start_date, lang, "medium")
        out.append("<g>")
        out.append(
            f"<title>{escape(kind_name(event.kind, lang))}: {escape(title)}, {escape(when)}</title>"
        )
        out.append(
            f'<text x="{AXIS_X - 16}" y="{y + 5}" font-size="15" text-anchor="end" '
            f'fill="{"#4a4a4a" if past else "#1a1a1a"}">{escape(when)}</text>'
        )
        out.append(_marker(event.kind, AXIS_X, y, colour))
        weight = "normal" if past else "bold"
        out.append(
            f'<text x="{AXIS_X + 18}" y="{y + 5}" font-size="15" font-weight="{weight}" '
            f'fill="{"#4a4a4a" if past else "#1a1a1a"}">{escape(short)}</text>'
        )
        out.append("</g>")
    if not today_drawn:
        out.append(_today_line(top + TODAY_ROW // 2, today, lang))
    out.append("</svg>")
    return Markup("".join(out))


def _today_line(y: int, today: date, lang: str) -> str:
    text = gettext(lang, "Today, {date}", date=format_date(today, lang, "d MMM"))
    return (
        f'<line x1="{AXIS_X - 8}" y1="{y}" x2="{WIDTH - 10}" y2="{y}" stroke="#b35900" '
        f'stroke-width="2" stroke-dasharray="6 4"/><text x="{AXIS_X - 16}" y="{y + 5}" '
        f'font-size="14" font-weight="bold" text-anchor="end" fill="#8a4500">'
        f"{escape(text)}</text>"
    )
