"""What the chat layer answers, independent of the transport: lines of styled spans, choices
and an optional file. Strings stay plain text here; each transport escapes when it renders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["plain", "bold", "italic", "code"]


@dataclass(frozen=True)
class Span:
    """A run of text in one style."""

    text: str
    style: Style = "plain"


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Choice:
    """Something the user can pick instead of typing it (a `clarify` suggestion)."""

    id: str
    label: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with the reply (Telegram sends it as a document)."""

    filename: str
    data: bytes
    mime_type: str
    caption: str


@dataclass(frozen=True)
class Reply:
    """One reply. An empty reply (no lines, nothing attached) means: send nothing."""

    lines: tuple[Line, ...] = ()
    choices: tuple[Choice, ...] = ()
    attachment: Attachment | None = None
    lang: str = "en"
    # What the reply is ("answer", "clarify", "refused", "rate_limited", ...): for logs and tests.
    kind: str = "text"

    @property
    def empty(self) -> bool:
        """True when there is nothing to send."""
        return not self.lines and self.attachment is None and not self.choices

    def plain_text(self) -> str:
        """The reply's text without styling."""
        return "\n".join("".join(span.text for span in line) for line in self.lines)


def plain(text: str) -> Line:
    """One unstyled line."""
    return (Span(text),)


def bold(text: str) -> Line:
    """One bold line (a heading)."""
    return (Span(text, "bold"),)


def paragraph(text: str) -> tuple[Line, ...]:
    """Plain text with newlines as separate lines."""
    return tuple(plain(part) for part in text.split("\n"))


def text_reply(lang: str, *lines: Line, kind: str = "text") -> Reply:
    """A reply made of the given lines."""
    return Reply(lines=tuple(lines), lang=lang, kind=kind)
