"""Reply phrasing (English, bokmål, nynorsk through bot.i18n): dates, contacts, events and
messages."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from bot.answering.index import Holding, Index
from bot.answering.model import ContactView, EventView
from bot.answering.text import fold_words
from bot.i18n import N_, format_date, format_list, gettext
from bot.registry.data import NORWEGIAN, EventRec, MunicipalityRec
from bot.registry.events import iso

# The engine's messages by key, English msgids (translations: bot/locale); `{Name}` in a
# translation is the value of `{name}` with a capital first letter.
MESSAGES: dict[str, str] = {
    "hint": N_(
        "I can tell you who holds a role (“who is {place}'s data contact?”), who someone is (“who is {person}?”) and when things happen (“when is the next meeting?”, “what happens on {day}?”, “what is next?”)."
    ),
    "no_answer": N_("I found no answer to that."),
    "empty": N_("Please ask a question."),
    "greeting": N_("Hello!"),
    "too_long": N_(
        "That question is too long ({length} characters). Please ask one short question (at most {limit} characters)."
    ),
    "role_one_place": N_("{place}'s {role} is {contact}."),
    "role_one": N_("The {role} is {contact}."),
    "role_many_place": N_("{Role} in {place} ({count}):"),
    "role_many": N_("{Role} ({count}):"),
    "holders_many": N_("Matching contacts ({count}):"),
    "role_count_ask": N_(
        "{count} people are registered as {role}. Which municipality do you mean?"
    ),
    "for_example": N_("For example {options}."),
    "question_in_place": N_("{question} in {place}?"),
    "role_none_place": N_("{place} has no registered {role}."),
    "role_none": N_("Nobody is registered as {role}."),
    "referral": N_("The {role} can help: {contact}."),
    "person_roles": N_("{contact}:"),
    "same_role": N_("Same role: {contact}."),
    "clarify_people": N_("Several people match “{name}”. Did you mean one of these?"),
    "unknown_person": N_("Nobody called {name} is registered."),
    "did_you_mean": N_("Did you mean {options}?"),
    "not_registered_place": N_("{place} is not in the programme."),
    "no_kind_next": N_(
        "Nothing of that kind is registered after {day}. The next registered item, on {next}:"
    ),
    "office_not_held": N_(
        "The registry does not hold “{office}” for {place}, only the programme's contacts:"
    ),
    "office_not_held_anywhere": N_(
        "The registry does not hold “{office}”, only the programme's contacts."
    ),
    "registered_places": N_("Registered municipalities: {places}."),
    "no_places": N_("No municipalities are registered yet."),
    "failed": N_("Sorry, something went wrong while answering that. The error has been logged."),
    "near_miss": N_("I don't know “{word}”."),
    "place_people": N_("{place} is in the programme. Contacts:"),
    "place_nobody": N_("{place} is in the programme, but no contacts are registered there yet."),
    "body_people": N_("{body} ({count}):"),
    "body_nobody": N_("Nobody is registered for {body}."),
    "municipalities": N_("Municipalities in the programme ({count}): {places}."),
    "municipalities_in": N_("Municipalities in {body} ({count}): {places}."),
    "on_day": N_("On {day}:"),
    "in_range": N_("From {first} to {last}:"),
    "nothing_on_day": N_("Nothing is registered for {day}."),
    "nothing_in_range": N_("Nothing is registered from {first} to {last}."),
    "after_that": N_("The next item after that:"),
    "next_on": N_("Next, on {day}:"),
    "nothing_next": N_("Nothing is scheduled after {day}."),
    "events_found": N_("Matching events and deadlines:"),
    "no_event": N_("I found no event or deadline matching that."),
    "upcoming": N_("Coming up:"),
    "event_contacts": N_("For “{title}” ({day}), contact:"),
    "no_email": N_("no e-mail address registered"),
    "bad_email": N_(" (address as printed; looks invalid)"),
    "and_more": N_("… and {count} more."),
    "at_time": N_("{day} at {time}"),
    "cancelled": N_("cancelled"),
}

MAX_LISTED = 25


def msg(lang: str, key: str, **values: object) -> str:
    """One message in `lang`; `{Name}` placeholders get the value with a capital first letter."""
    template = _template(lang, key)
    caps = {name: _cap(str(values[k])) for k, name in _capitalised(template, tuple(values))}
    return template.format(**values, **caps)


@lru_cache(maxsize=1024)
def _template(lang: str, key: str) -> str:
    """The translation of a message, placeholders unfilled (catalogues are loaded once per
    process, so the lookup is too)."""
    return gettext(lang, MESSAGES[key])


@lru_cache(maxsize=4096)
def _capitalised(template: str, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(value name, placeholder) for each value the template asks for with a capital first
    letter, `{Place}` for `place` (most messages: none)."""
    out = []
    for k in names:
        name = k[0].upper() + k[1:]
        if "{" + name + "}" in template:
            out.append((k, name))
    return tuple(out)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=4096)
def fmt_date(day: date, lang: str) -> str:
    """'21 February 2020' / '21. februar 2020' (Babel's long date; remembered, since Babel
    takes longer to format a date than the engine takes to answer most questions)."""
    return format_date(day, lang)


def fmt_when(ev: EventRec, lang: str) -> str:
    """When an event happens: a date, a date range, or a date and time."""
    if isinstance(ev.start, datetime):
        # Norwegian writes the time "kl. 10.00" (CLDR's short time has a colon).
        clock = ev.start.strftime("%H.%M" if lang in NORWEGIAN else "%H:%M")
        return msg(lang, "at_time", day=fmt_date(ev.start.date(), lang), time=clock)
    if ev.end_date != ev.start_date:
        return f"{fmt_date(ev.start_date, lang)} \u2013 {fmt_date(ev.end_date, lang)}"
    return fmt_date(ev.start_date, lang)


def join_words(items: list[str], lang: str, word: str = "or") -> str:
    """'a, b, or c' / 'a, b eller c' (Babel's list patterns; word "and" or "or")."""
    return format_list(items, lang, style="or" if word == "or" else "standard")


def bullets(lines: list[str], lang: str, total: int | None = None) -> str:
    """Bullet lines, at most MAX_LISTED, with a count of the rest (of `total` lines, when only
    the first ones were made)."""
    shown = [f"\u2022 {line}" for line in lines[:MAX_LISTED]]
    count = len(lines) if total is None else total
    if count > MAX_LISTED:
        shown.append(msg(lang, "and_more", count=count - MAX_LISTED))
    return "\n".join(shown)


# --- contacts ---------------------------------------------------------------------------------


def email_looks_invalid(email: str, municipality: MunicipalityRec | None) -> bool:
    """True for an address that cannot work as printed: whitespace, not one '@', no dot in the
    domain, or a domain one or two letters off the municipality's own mail domain."""
    if any(ch.isspace() for ch in email) or email.count("@") != 1:
        return True
    local, domain = email.rsplit("@", 1)
    if not local or "." not in domain:
        return True
    own = (municipality.email_domain or "").lower() if municipality else ""
    if own and domain.lower() != own:
        from rapidfuzz.distance import OSA

        return OSA.distance(domain.lower(), own) <= 2
    return False


def organisation_name(index: Index, key: str | None, lang: str) -> str | None:
    """An organisation's name in `lang`."""
    org = index.data.organisation_by_key.get(key or "")
    if org is None:
        return None
    return (org.name_en or org.name) if lang == "en" else org.name


def place_name(index: Index, key: str | None) -> str | None:
    """A municipality's name."""
    place = index.data.municipality_by_key.get(key or "")
    return place.name if place else None


def role_name(index: Index, key: str, lang: str) -> str:
    """A role's name in `lang` (the key itself for a role the registry does not describe)."""
    role = index.data.role_type_by_key.get(key)
    return role.name(lang) if role else key.replace("_", " ")


def contact_view(index: Index, holding: Holding, lang: str) -> ContactView:
    """The contract's contact object for one role of one person."""
    person, role = holding.person, holding.role
    return ContactView(
        name=person.name,
        email=person.email,
        role=role_name(index, role.role, lang),
        organisation=organisation_name(index, role.organisation, lang),
        municipality=place_name(index, role.municipality),
        person_key=person.key,
    )


def name_and_email(index: Index, holding: Holding, lang: str) -> str:
    """'Name, address' with a note when the address is missing or looks wrong."""
    person = holding.person
    if not person.email:
        return f"{person.name} ({msg(lang, 'no_email')})"
    checked = (person.email, holding.role.municipality)
    invalid = index.email_checks.get(checked)
    if invalid is None:
        # Once per address and place for each snapshot: the check runs a string distance.
        place = index.data.municipality_by_key.get(holding.role.municipality or "")
        invalid = index.email_checks[checked] = email_looks_invalid(person.email, place)
    note = msg(lang, "bad_email") if invalid else ""
    return f"{person.name}, {person.email}{note}"


def where(index: Index, holding: Holding, lang: str) -> str:
    """Where a role is held: the municipality, and the organisation unless the role's own name
    already says it."""
    role = holding.role
    parts = []
    place = place_name(index, role.municipality)
    if place:
        parts.append(place)
    org = index.data.organisation_by_key.get(role.organisation or "")
    if org is not None:
        named = " ".join(fold_words(role_name(index, role.role, lang)))
        aliases = (org.name, org.name_en or "", *org.aliases)
        if not any(a and f" {' '.join(fold_words(a))} " in f" {named} " for a in aliases):
            parts.append(organisation_name(index, org.key, lang) or org.name)
    return ", ".join(parts)


def role_detail(index: Index, holding: Holding, lang: str, with_role: bool = True) -> str:
    """A role and where it is held: 'local data-collection contact, Bodø'."""
    details = [role_name(index, holding.role.role, lang)] if with_role else []
    place = where(index, holding, lang)
    if place:
        details.append(place)
    return ", ".join(details)


def people_lines(
    index: Index, holdings: list[Holding], lang: str, with_role: bool = True
) -> list[str]:
    """One line per person (in order of first appearance) with each of their listed roles."""
    grouped: dict[str, list[Holding]] = {}
    for h in holdings:
        grouped.setdefault(h.person.key, []).append(h)
    lines = []
    for group in grouped.values():
        head = name_and_email(index, group[0], lang)
        details = [d for d in (role_detail(index, h, lang, with_role) for h in group) if d]
        lines.append(f"{head} \u2013 {'; '.join(details)}" if details else head)
    return lines


# --- events -----------------------------------------------------------------------------------


def event_view(ev: EventRec, lang: str) -> EventView:
    """The contract's event object (end: the inclusive last day, as `coordbot events`)."""
    return EventView(
        key=ev.key,
        title=ev.title(lang),
        start=iso(ev.start) or "",
        end=iso(ev.end if ev.end is not None else ev.start),
        location=ev.location,
    )


def event_line(ev: EventRec, lang: str, with_date: bool = True) -> str:
    """One bullet line for an event."""
    parts = [fmt_when(ev, lang)] if with_date else []
    title = ev.title(lang)
    if ev.location:
        title += f", {ev.location}"
    if ev.cancelled:
        title += f" \u2013 {msg(lang, 'cancelled')}"
    return f"{parts[0]}: {title}" if parts else title
