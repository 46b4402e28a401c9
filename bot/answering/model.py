"""What the answer engine returns; `to_json` is the `coordbot ask --json` contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["answer", "clarify", "not_found"]
Lang = Literal["en", "nb", "nn"]


@dataclass(frozen=True)
class ContactView:
    """A person as an answer shows them (one role of theirs, the one asked about)."""

    name: str
    email: str | None
    role: str
    organisation: str | None
    municipality: str | None
    person_key: str = ""

    def to_json(self) -> dict[str, Any]:
        """The contract's contact object."""
        return {
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "organisation": self.organisation,
            "municipality": self.municipality,
        }


@dataclass(frozen=True)
class EventView:
    """An event as an answer shows it; start/end are ISO 8601 (dates for all-day items)."""

    key: str
    title: str
    start: str
    end: str | None
    location: str | None

    def to_json(self) -> dict[str, Any]:
        """The contract's event object."""
        return {
            "key": self.key,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "location": self.location,
        }


@dataclass(frozen=True)
class Answer:
    """One reply: a status, the text in the question's language and the structured results.

    `suggestions` are whole questions or names the user can pick (a `clarify` answer's buttons).
    """

    status: Status
    lang: Lang
    text: str
    contacts: tuple[ContactView, ...] = ()
    events: tuple[EventView, ...] = ()
    suggestions: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The `coordbot ask --json` object."""
        return {
            "status": self.status,
            "lang": self.lang,
            "text": self.text,
            "contacts": [c.to_json() for c in self.contacts],
            "events": [e.to_json() for e in self.events],
            "suggestions": list(self.suggestions),
        }
