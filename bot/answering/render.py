"""Reply phrasing in English and Norwegian bokmål: dates, contacts, events and messages."""

from __future__ import annotations

from datetime import date, datetime

from bot.answering.index import Holding, Index
from bot.answering.model import ContactView, EventView
from bot.answering.text import fold_words
from bot.registry.data import EventRec, MunicipalityRec
from bot.registry.events import iso

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "nb": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
           "oktober", "november", "desember"),
}  # fmt: skip

MESSAGES = {
    "en": {
        "hint": (
            "I can tell you who holds a role (\u201cwho is {place}'s data contact?\u201d), who "
            "someone is (\u201cwho is {person}?\u201d) and when things happen (\u201cwhen is the "
            "next meeting?\u201d, \u201cwhat happens on {day}?\u201d, \u201cwhat is next?\u201d)."
        ),
        "no_answer": "I found no answer to that.",
        "empty": "Please ask a question.",
        "greeting": "Hello!",
        "too_long": (
            "That question is too long ({length} characters). Please ask one short question "
            "(at most {limit} characters)."
        ),
        "role_one_place": "{place}'s {role} is {contact}.",
        "role_one": "The {role} is {contact}.",
        "role_many_place": "{Role} in {place} ({count}):",
        "role_many": "{Role} ({count}):",
        "holders_many": "Matching contacts ({count}):",
        "role_none_place": "{place} has no registered {role}.",
        "role_none": "Nobody is registered as {role}.",
        "referral": "The {role} can help: {contact}.",
        "person_roles": "{contact}:",
        "same_role": "Same role: {contact}.",
        "clarify_people": "Several people match \u201c{name}\u201d. Did you mean one of these?",
        "unknown_person": "Nobody called {name} is registered.",
        "did_you_mean": "Did you mean {options}?",
        "not_registered_place": "{place} is not in the programme.",
        "registered_places": "Registered municipalities: {places}.",
        "no_places": "No municipalities are registered yet.",
        "failed": "Sorry, something went wrong while answering that. The error has been logged.",
        "near_miss": "I don't know \u201c{word}\u201d.",
        "place_people": "{place} is in the programme. Contacts:",
        "place_nobody": "{place} is in the programme, but no contacts are registered there yet.",
        "body_people": "{body} ({count}):",
        "body_nobody": "Nobody is registered for {body}.",
        "municipalities": "Municipalities in the programme ({count}): {places}.",
        "municipalities_in": "Municipalities in {body} ({count}): {places}.",
        "on_day": "On {day}:",
        "in_range": "From {first} to {last}:",
        "nothing_on_day": "Nothing is registered for {day}.",
        "nothing_in_range": "Nothing is registered from {first} to {last}.",
        "after_that": "The next item after that:",
        "next_on": "Next, on {day}:",
        "nothing_next": "Nothing is scheduled after {day}.",
        "events_found": "Matching events and deadlines:",
        "no_event": "I found no event or deadline matching that.",
        "upcoming": "Coming up:",
        "event_contacts": "For \u201c{title}\u201d ({day}), contact:",
        "no_email": "no e-mail address registered",
        "bad_email": " (address as printed; looks invalid)",
        "and_more": "\u2026 and {count} more.",
        "and": "and",
        "or": "or",
        "at_time": "{day} at {time}",
        "cancelled": "cancelled",
    },
    "nb": {
        "hint": (
            "Jeg kan svare på hvem som har en rolle («hvem er datakontakt i {place}?»), hvem "
            "noen er («hvem er {person}?») og når ting skjer («når er neste møte?», «hva skjer "
            "{day}?», «hva skjer nå?»)."
        ),
        "no_answer": "Det fant jeg ikke noe svar på.",
        "empty": "Still meg gjerne et spørsmål.",
        "greeting": "Hei!",
        "too_long": (
            "Spørsmålet er for langt ({length} tegn). Still ett kort spørsmål (høyst {limit} tegn)."
        ),
        "role_one_place": "{Role} i {place} er {contact}.",
        "role_one": "{Role} er {contact}.",
        "role_many_place": "{Role} i {place} ({count}):",
        "role_many": "{Role} ({count}):",
        "holders_many": "Kontakter som passer ({count}):",
        "role_none_place": "{place} har ingen registrert {role}.",
        "role_none": "Ingen er registrert som {role}.",
        "referral": "{Role} kan hjelpe: {contact}.",
        "person_roles": "{contact}:",
        "same_role": "Samme rolle: {contact}.",
        "clarify_people": "Flere personer passer til «{name}». Mente du en av disse?",
        "unknown_person": "Ingen ved navn {name} er registrert.",
        "did_you_mean": "Mente du {options}?",
        "not_registered_place": "{place} er ikke med i programmet.",
        "registered_places": "Registrerte kommuner: {places}.",
        "no_places": "Ingen kommuner er registrert ennå.",
        "failed": "Beklager, noe gikk galt da jeg skulle svare på det. Feilen er logget.",
        "near_miss": "Jeg kjenner ikke «{word}».",
        "place_people": "{place} er med i programmet. Kontakter:",
        "place_nobody": "{place} er med i programmet, men ingen kontakter er registrert der ennå.",
        "body_people": "{body} ({count}):",
        "body_nobody": "Ingen er registrert for {body}.",
        "municipalities": "Kommuner i programmet ({count}): {places}.",
        "municipalities_in": "Kommuner i {body} ({count}): {places}.",
        "on_day": "{Day}:",
        "in_range": "Fra {first} til {last}:",
        "nothing_on_day": "Ingenting er registrert {day}.",
        "nothing_in_range": "Ingenting er registrert fra {first} til {last}.",
        "after_that": "Det neste etter det:",
        "next_on": "Neste, {day}:",
        "nothing_next": "Ingenting er planlagt etter {day}.",
        "events_found": "Hendelser og frister som passer:",
        "no_event": "Jeg fant ingen hendelse eller frist som passer.",
        "upcoming": "Neste:",
        "event_contacts": "Om «{title}» ({day}), kontakt:",
        "no_email": "ingen e-postadresse registrert",
        "bad_email": " (adressen slik den er trykt; ser ugyldig ut)",
        "and_more": "… og {count} til.",
        "and": "og",
        "or": "eller",
        "at_time": "{day} kl. {time}",
        "cancelled": "avlyst",
    },
}

MAX_LISTED = 25


def msg(lang: str, key: str, **values: object) -> str:
    """One message in `lang`; `{Name}` placeholders get the value with a capital first letter."""
    caps = {k[0].upper() + k[1:]: _cap(str(v)) for k, v in values.items()}
    return MESSAGES[lang][key].format(**values, **caps)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def fmt_date(day: date, lang: str) -> str:
    """'21 February 2020' / '21. februar 2020'."""
    month = _MONTHS[lang][day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang == "nb" else f"{day.day} {month} {day.year}"


def fmt_when(ev: EventRec, lang: str) -> str:
    """When an event happens: a date, a date range, or a date and time."""
    if isinstance(ev.start, datetime):
        clock = ev.start.strftime("%H.%M" if lang == "nb" else "%H:%M")
        return msg(lang, "at_time", day=fmt_date(ev.start.date(), lang), time=clock)
    if ev.end_date != ev.start_date:
        return f"{fmt_date(ev.start_date, lang)} \u2013 {fmt_date(ev.end_date, lang)}"
    return fmt_date(ev.start_date, lang)


def join_words(items: list[str], lang: str, word: str = "or") -> str:
    """'a, b or c' / 'a, b eller c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {msg(lang, word)} {items[-1]}"


def bullets(lines: list[str], lang: str) -> str:
    """Bullet lines, at most MAX_LISTED, with a count of the rest."""
    shown = [f"\u2022 {line}" for line in lines[:MAX_LISTED]]
    if len(lines) > MAX_LISTED:
        shown.append(msg(lang, "and_more", count=len(lines) - MAX_LISTED))
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
    place = index.data.municipality_by_key.get(holding.role.municipality or "")
    note = msg(lang, "bad_email") if email_looks_invalid(person.email, place) else ""
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
