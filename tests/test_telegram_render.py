"""Replies as Telegram HTML: escaping and splitting under the limit, for any text."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat.reply import Choice, Reply, Span
from handlers.telegram.render import (
    CALLBACK_PREFIX,
    keyboard,
    render_line,
    render_messages,
    utf16_len,
)

_TAG = re.compile(r"</?(?:b|i|code)>")


def _visible(message: str) -> str:
    return html.unescape(_TAG.sub("", message))


def _well_formed(message: str) -> bool:
    """Tags only b/i/code, properly paired; no raw < > & outside tags and entities."""
    stack: list[str] = []
    for match in re.finditer(r"<(/?)(\w+)>", message):
        closing, tag = match.groups()
        if tag not in ("b", "i", "code"):
            return False
        if closing:
            if not stack or stack.pop() != tag:
                return False
        else:
            stack.append(tag)
    bare = re.sub(r"</?(?:b|i|code)>|&(?:amp|lt|gt);", "", message)
    return not stack and not re.search(r"[<>&]", bare)


def test_every_string_is_escaped() -> None:
    line = (Span("<b>Ola</b> & "), Span("Kari <3", "bold"), Span("x", "code"))
    assert render_line(line) == "&lt;b&gt;Ola&lt;/b&gt; &amp; <b>Kari &lt;3</b><code>x</code>"


spans = st.builds(
    Span,
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80),
    st.sampled_from(["plain", "bold", "italic", "code"]),
)
lines = st.lists(st.lists(spans, max_size=4).map(tuple), max_size=12).map(tuple)


@settings(max_examples=150, deadline=None)
@given(lines=lines, limit=st.integers(min_value=8, max_value=120))
def test_split_messages_fit_and_lose_nothing(lines: tuple, limit: int) -> None:
    messages = render_messages(Reply(lines=lines), limit=limit)
    for message in messages:
        assert _well_formed(message)
        assert 0 < utf16_len(_visible(message)) <= limit
        assert _visible(message).strip()
    original = "".join("".join(s.text for s in line) for line in lines)
    assert "".join("".join(map(_visible, messages)).split()) == "".join(original.split())


def test_a_long_line_is_cut_between_words_when_it_can_be() -> None:
    words = " ".join(f"word{n}" for n in range(40))
    messages = render_messages(Reply(lines=((Span(words),),)), limit=50)
    assert all(not m.startswith(" ") and len(m) <= 50 for m in messages)
    assert all(re.fullmatch(r"(word\d+ ?)+", m) for m in messages)


def test_astral_characters_count_double() -> None:
    messages = render_messages(Reply(lines=((Span("🙂" * 30),),)), limit=20)
    assert [utf16_len(m) for m in messages] == [20, 20, 20]


def test_keyboard_carries_short_ids_and_short_labels() -> None:
    reply = Reply(lines=((Span("?"),),), choices=(Choice("abcdefgh", "x" * 200),))
    markup = keyboard(reply)
    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert button.callback_data == CALLBACK_PREFIX + "abcdefgh"
    assert len(button.text) == 60 and button.text.endswith("…")
    assert keyboard(Reply(lines=((Span("?"),),))) is None
