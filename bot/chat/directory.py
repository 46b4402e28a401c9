"""Directory replies: answers from the engine, the list of events, the programme calendar."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.answering.model import Answer
from bot.calendar.feeds import links_for
from bot.chat.choices import ChoiceStore
from bot.chat.reply import Attachment, Choice, Line, Reply, bold, paragraph, plain, text_reply
from bot.config import ConfigError
from bot.i18n import Lang, gettext, ngettext
from bot.registry.events import format_event_line
from bot.services import Services
from bot.textnorm import fold

PROGRAMME_FEED = "programme"

log = logging.getLogger(__name__)


def next_question(lang: Lang) -> str:
    """What /next asks the engine, so "what is next?" typed as text and /next give the same
    answer (translated: the engine reads the question's language from its words)."""
    return gettext(lang, "what is next?")


def _prefixed(kind: str, lang: Lang, query: str, *, with_verb: bool) -> str:
    if kind == "who":
        if with_verb:
            return gettext(lang, "who is {query}", query=query)
        return gettext(lang, "who {query}", query=query)
    if with_verb:
        return gettext(lang, "when is {query}", query=query)
    return gettext(lang, "when {query}", query=query)


_VERBS = {"is", "are", "was", "er", "var"}
# Folded first words that already make the query a question of that kind.
_QUESTION_WORDS = {
    "who": {"who", "whos", "hvem", "kven"},
    "when": {"when", "whens", "nar", "hvornar", "kva tid"},
}

MAX_CHOICES = 8


def with_prefix(query: str, kind: str, lang: Lang) -> str:
    """Make a /who or /when query a question: "data contact Bodø" -> "who is data contact
    Bodø", "is X" -> "who is X"; a query that already asks who (or when) is left alone."""
    words = fold(query).split()
    if words and words[0] in _QUESTION_WORDS[kind]:
        return query
    return _prefixed(kind, lang, query, with_verb=not (words and words[0] in _VERBS))


def answer_reply(answer: Answer, choices: ChoiceStore) -> Reply:
    """The engine's answer as a reply; its suggestions become choices (buttons, numbers)."""
    offered = tuple(
        Choice(choices.put(text), text) for text in answer.suggestions[:MAX_CHOICES] if text
    )
    text = answer.text.strip() or "…"
    return Reply(lines=paragraph(text), choices=offered, lang=answer.lang, kind=answer.status)


def events_reply(services: Services, lang: Lang, *, everything: bool) -> Reply:
    """Events from today on (or all of them), in date order, one line each."""
    data = services.registry.snapshot()
    today = services.clock.now().astimezone(services.zone).date()
    events = sorted(data.events, key=lambda e: (e.start_date, e.key))
    shown = events if everything else [e for e in events if e.end_date >= today]
    heading = (
        gettext(lang, "Events, deadlines and milestones:")
        if everything
        else gettext(lang, "Coming up:")
    )
    lines: list[Line] = [bold(heading)]
    lines += [plain(f"• {format_event_line(ev, data, lang)}") for ev in shown]
    if not shown:
        lines = [plain(gettext(lang, "Nothing is scheduled from today on."))]
    earlier = len(events) - len(shown)
    if earlier:
        lines += [
            plain(""),
            plain(
                ngettext(
                    lang, "{n} earlier item: /events all", "{n} earlier items: /events all", earlier
                )
            ),
        ]
    return text_reply(lang, *lines, kind="events")


def calendar_reply(
    services: Services,
    lang: Lang,
    *,
    attach: bool,
    person_key: str | None = None,
    private_token: str | None = None,
    user_id: int | None = None,
) -> Reply:
    """Subscription links (the programme, each audience, and the municipality of the linked
    person), plus the programme's .ics itself when `attach`.

    When feeds are not public the links carry `private_token` (the user's own, or the
    operator's on the console); without one the user is told how to become known instead."""
    from bot.calendar.api import feed_bytes, feed_links

    calendar = services.config.calendar
    if not calendar.public_feeds and private_token is None:
        message = gettext(
            lang,
            "The calendar links are private. Ask a coordinator to approve you; your user id is {user_id}.",
            user_id=user_id if user_id is not None else "?",
        )
        return Reply(lines=(plain(message),), lang=lang, kind="calendar_private")
    data = services.registry.snapshot()
    person = data.person_by_key.get(person_key) if person_key else None
    own_places = {f"municipality-{r.municipality}" for r in person.roles} if person else set()
    try:
        if calendar.public_feeds or private_token is None:
            every_link = feed_links(services, lang=lang)
        else:
            base = None if calendar.public_base_url else services.calendar_base_url
            own = replace(calendar, feed_token=private_token)
            every_link = links_for(data, own, lang, base)
    except ConfigError as exc:
        # No public address known (calendar.listen on port 0 and no server running).
        log.warning("no calendar subscription links: %s", exc)
        every_link = []
    links = [
        link
        for link in every_link
        if link.name == PROGRAMME_FEED
        or link.name.startswith("audience-")
        or link.name in own_places
    ]
    lines: list[Line] = [
        bold(
            gettext(lang, "Subscribe to the programme calendar in your calendar app:")
            if links
            else gettext(
                lang,
                "The calendar has no public address yet; ask a coordinator to set calendar.public_base_url.",
            )
        )
    ]
    for link in links:
        lines += [plain(f"• {link.title}:"), plain(f"  {link.webcal_url}"), plain(f"  {link.url}")]
    attachment = None
    if attach:
        attachment = Attachment(
            filename=f"{PROGRAMME_FEED}.ics",
            data=feed_bytes(services, PROGRAMME_FEED, lang=lang),
            mime_type="text/calendar",
            caption=gettext(
                lang, "The programme calendar (.ics): open it to import the events once."
            ),
        )
    else:
        lines += [
            plain(""),
            plain(gettext(lang, "Save the .ics file with: coordbot ics feed -o programme.ics")),
        ]
    return Reply(lines=tuple(lines), attachment=attachment, lang=lang, kind="calendar")
