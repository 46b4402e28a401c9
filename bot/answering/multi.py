"""Several questions in one: "who leads the steering group and when does it meet?", "who is
the data contact in Trondheim and who runs the UN centre there?". The question is split where
a conjunction starts a new question, each part is answered on its own (a part that names no
place or body reads the ones the earlier parts named, for "there", "it", "den"), and the
answers are joined into one reply."""

from __future__ import annotations

import re

from bot.answering.model import Answer

# "and"/"og" (or a comma) followed by a question word starts a second question.
_QUESTION_WORDS = (
    r"who|whom|when|what|where|which|how|hvem|kven|når|nar|hva|kva|hvor|kor|kvar|hvilke|"
    r"hvilken|kva for|is|are|er"
)
_SPLIT = re.compile(
    rf"\s*(?:,\s*(?:and|og)?|\band\b|\bog\b)\s+(?=(?:{_QUESTION_WORDS})\b)", re.IGNORECASE
)
MAX_PARTS = 4


_STARTS_AS_QUESTION = re.compile(rf"^\W*(?:{_QUESTION_WORDS}|has|have|does|do|har)\b", re.I)


def split(text: str) -> list[str]:
    """The question's parts (the whole question when it is one). Only a question that itself
    begins as one is split: "I have a question about January, whom do I ask" is one."""
    lowered = text.lower()
    if not (" and " in lowered or " og " in lowered or "," in lowered):
        return [text]
    if not _STARTS_AS_QUESTION.match(text):
        return [text]
    parts = [p.strip(" ,") for p in _SPLIT.split(text)]
    parts = [p for p in parts if p]
    if len(parts) < 2 or len(parts) > MAX_PARTS:
        return [text]
    return parts


def merge(answers: list[Answer]) -> Answer:
    """One reply from the parts' answers: found ones first in question order; status answer
    when any part was answered."""
    found = [a for a in answers if a.status == "answer"]
    status = "answer" if found else answers[0].status
    shown = answers if found else answers[:1]
    # A part that only repeats an earlier part's answer ("... and where is it?") adds nothing.
    unique: list[Answer] = []
    for a in shown:
        if not any(a.text == b.text for b in unique):
            unique.append(a)
    shown = unique
    # dicts keep the first of equal items in order, in linear time (the views are frozen).
    contacts = list(dict.fromkeys(c for a in shown for c in a.contacts))
    events = list(dict.fromkeys(e for a in shown for e in a.events))
    suggestions = tuple(s for a in shown for s in a.suggestions)
    text = "\n\n".join(a.text for a in shown)
    return Answer(status, answers[0].lang, text, tuple(contacts), tuple(events), suggestions)
