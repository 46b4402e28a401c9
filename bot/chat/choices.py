"""Server-side memory of offered choices, so a button carries only a short id.

Telegram limits callback_data to 64 bytes, and a suggestion can be longer; the text stays here
under a random id. The memory is bounded and not persisted: a button from before a restart (or
one pushed out by newer ones) is answered with "expired", never with a crash.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict


class ChoiceStore:
    """A bounded LRU of choice id -> text."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, text: str) -> str:
        """Remember `text`; returns its id (8 URL-safe characters)."""
        choice_id = secrets.token_urlsafe(6)
        with self._lock:
            self._texts[choice_id] = text
            while len(self._texts) > self._capacity:
                self._texts.popitem(last=False)
        return choice_id

    def get(self, choice_id: str) -> str | None:
        """The text behind `choice_id`, or None when it is unknown or expired."""
        with self._lock:
            text = self._texts.get(choice_id)
            if text is not None:
                self._texts.move_to_end(choice_id)
            return text
