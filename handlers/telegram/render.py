"""Replies as Telegram HTML messages: every string escaped, split under the length limit.

Telegram counts a message's length after entity parsing, in UTF-16 code units, and allows
4096. The split is done on the visible text (lines first, then words, then characters) and each
piece is rendered on its own, so no tag or entity is ever cut in half.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.reply import Line, Reply, Span

MESSAGE_LIMIT = 4096
BUTTON_LABEL_LIMIT = 60
CALLBACK_PREFIX = "q:"

_TAGS = {"bold": "b", "italic": "i", "code": "code"}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def render_span(span: Span) -> str:
    """One span as escaped HTML."""
    escaped = html.escape(span.text, quote=False)
    tag = _TAGS.get(span.style)
    return f"<{tag}>{escaped}</{tag}>" if tag and escaped else escaped


def render_line(line: Line) -> str:
    """One line as escaped HTML."""
    return "".join(render_span(span) for span in line)


def _line_text(line: Line) -> str:
    return "".join(span.text for span in line)


def _slice_line(line: Line, start: int, end: int) -> Line:
    """The characters [start, end) of a line, keeping each span's style."""
    pieces: list[Span] = []
    offset = 0
    for span in line:
        lo, hi = max(start, offset), min(end, offset + len(span.text))
        if lo < hi:
            pieces.append(Span(span.text[lo - offset : hi - offset], span.style))
        offset += len(span.text)
    return tuple(pieces)


def _cut_point(text: str, limit: int) -> int:
    """Where to cut `text` so the head fits in `limit` UTF-16 units: after the last space in
    the second half of the allowance, else as late as fits."""
    used, fit = 0, 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        fit = index + 1
    space = text.rfind(" ", fit // 2, fit)
    return space + 1 if space > 0 and fit < len(text) else max(fit, 1)


def _split_long_line(line: Line, limit: int) -> list[Line]:
    text = _line_text(line)
    parts: list[Line] = []
    start = 0
    while start < len(text):
        end = start + _cut_point(text[start:], limit)
        parts.append(_slice_line(line, start, end))
        start = end
    return parts


def split_lines(lines: tuple[Line, ...], limit: int = MESSAGE_LIMIT) -> list[list[Line]]:
    """Group lines into messages of at most `limit` visible UTF-16 units each."""
    chunks: list[list[Line]] = []
    current: list[Line] = []
    size = 0
    for line in lines:
        length = utf16_len(_line_text(line))
        needed = length + (1 if current else 0)
        if size + needed <= limit:
            current.append(line)
            size += needed
            continue
        if current:
            chunks.append(current)
        current, size = [], 0
        if length <= limit:
            current, size = [line], length
            continue
        *full, last = _split_long_line(line, limit)
        chunks.extend([part] for part in full)
        current, size = [last], utf16_len(_line_text(last))
    if current:
        chunks.append(current)
    return chunks


def render_messages(reply: Reply, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The reply's text as HTML messages, none longer than `limit` once parsed; blank
    messages (Telegram refuses them) are left out."""
    messages = []
    for chunk in split_lines(reply.lines, limit):
        while chunk and not _line_text(chunk[-1]).strip():
            chunk.pop()
        while chunk and not _line_text(chunk[0]).strip():
            chunk.pop(0)
        if chunk:
            messages.append("\n".join(render_line(line) for line in chunk))
    return messages


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """One button per offered choice; the button carries only the choice's short id."""
    if not reply.choices:
        return None
    rows = []
    for choice in reply.choices:
        label = choice.label
        if len(label) > BUTTON_LABEL_LIMIT:
            label = label[: BUTTON_LABEL_LIMIT - 1] + "…"
        rows.append([InlineKeyboardButton(label, callback_data=CALLBACK_PREFIX + choice.id)])
    return InlineKeyboardMarkup(rows)
