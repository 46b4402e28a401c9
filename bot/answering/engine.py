"""PLACEHOLDER answer engine (replaced by the real engine): answers only exact role questions."""

from __future__ import annotations

from bot.answering.model import Answer
from bot.clock import Clock
from bot.registry import Registry


class AnswerEngine:
    """Question -> Answer over the registry snapshot."""

    def __init__(self, registry: Registry, clock: Clock, default_lang: str = "en") -> None:
        self._registry = registry
        self._clock = clock
        self._default_lang = default_lang

    def ask(self, question: str, lang: str | None = None) -> Answer:
        """Answer one question."""
        return Answer(
            status="not_found",
            lang="nb" if lang == "nb" else "en",
            text="The answer engine is not built yet.",
        )
