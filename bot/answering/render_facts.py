"""Reply texts for facts beyond "who holds a role": time relative to the programme (past and
coming items, yes/no about time), membership, job titles, organisations' seats, what the
registry does not hold, and what events are for. Every text goes through bot.i18n (English
msgid, nb and nn catalogues); dates through bot.i18n.format_date."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from bot.i18n import format_date, format_list, gettext, ngettext


def record_lang(lang: str) -> str:
    """The language of registry texts for a reply language (nynorsk reads the bokmål ones)."""
    return "nb" if lang in ("nb", "nn") else "en"


@lru_cache(maxsize=4096)
def day(value: date, lang: str) -> str:
    """A date with its year, as the reply's language writes it (cached: Babel's formatting
    costs more than the rest of an answer, and the registry's dates repeat)."""
    return format_date(value, lang, "long")


def yes(lang: str) -> str:
    """The word that answers a yes/no question with yes."""
    return gettext(lang, "Yes.")


def no(lang: str) -> str:
    """The word that answers a yes/no question with no."""
    return gettext(lang, "No.")


def past_on_day(lang: str, when: date) -> str:
    """Header for items of one day that lie in the past."""
    return gettext(lang, "On {day} (already past):", day=day(when, lang))


def past_in_range(lang: str, first: date, last: date) -> str:
    """Header for items of a range of days that lie in the past."""
    return gettext(
        lang, "From {first} to {last} (already past):", first=day(first, lang), last=day(last, lang)
    )


def nothing_ahead_last(lang: str, today: date, last: date, n: int) -> str:
    """Nothing lies ahead; the last registered items and their date follow."""
    return ngettext(
        lang,
        "Nothing is registered after {today}. The last registered item was on {day}:",
        "Nothing is registered after {today}. The last registered items were on {day}:",
        n,
        today=day(today, lang),
        day=day(last, lang),
    )


def last_items(lang: str, last: date, n: int) -> str:
    """The last registered items, when nothing lies after the days asked about."""
    return ngettext(
        lang,
        "The last registered item was on {day}:",
        "The last registered items were on {day}:",
        n,
        day=day(last, lang),
    )


def was_on(lang: str, when: str, title: str, deadline: bool = False) -> str:
    """One past item, in the past tense (a deadline passed, a meeting took place)."""
    if deadline:
        return gettext(lang, "{title} passed on {when}.", title=title, when=when)
    return gettext(lang, "{title} took place on {when}.", title=title, when=when)


def is_on(lang: str, when: str, title: str) -> str:
    """One coming item."""
    return gettext(lang, "{title} is on {when}.", title=title, when=when)


def same_day(lang: str, when: date) -> str:
    """Several items share one day."""
    return gettext(lang, "Yes, they are on the same day: {day}.", day=day(when, lang))


def not_same_day(lang: str) -> str:
    """The items are on different days."""
    return gettext(lang, "No, they are on different days:")


def streamed(lang: str, yes_no: bool) -> str:
    """Whether an event is streamed."""
    if yes_no:
        return gettext(lang, "Yes, it is streamed online.")
    return gettext(lang, "No streaming is registered for it.")


def about(lang: str, text: str) -> str:
    """What an event is for."""
    return gettext(lang, "About: {text}", text=text)


# --- membership -------------------------------------------------------------------------------


def member(lang: str, place: str, body: str) -> str:
    """A municipality is a member of an audience."""
    return gettext(lang, "Yes, {place} is in {body}.", place=place, body=body)


def not_member(lang: str, place: str, body: str, members: list[str]) -> str:
    """A municipality is not a member of an audience."""
    return gettext(
        lang,
        "No, {place} is not in {body}. Members: {members}.",
        place=place,
        body=body,
        members=format_list(members, lang),
    )


def member_of(lang: str, place: str, bodies: list[str]) -> str:
    """The audiences a municipality is in."""
    if not bodies:
        return gettext(lang, "{place} is registered in no batch or network.", place=place)
    return gettext(lang, "{place} is in: {bodies}.", place=place, bodies=format_list(bodies, lang))


def members_of(lang: str, body: str, names: list[str]) -> str:
    """The municipalities of an audience (or an intersection of audiences)."""
    return ngettext(
        lang,
        "{body}: {n} municipality: {places}.",
        "{body}: {n} municipalities: {places}.",
        len(names),
        body=body,
        places=format_list(names, lang),
    )


def no_members(lang: str, body: str) -> str:
    """An audience without registered members."""
    return gettext(lang, "No members of {body} are registered yet.", body=body)


def both(lang: str, first: str, second: str) -> str:
    """Name of the intersection of two audiences."""
    return gettext(lang, "both {first} and {second}", first=first, second=second)


# --- people -----------------------------------------------------------------------------------


def title_is(lang: str, name: str, title: str) -> str:
    """A person's job title."""
    return gettext(lang, "{name}'s title is {title}.", name=name, title=title)


def no_title(lang: str, name: str) -> str:
    """No job title is registered for a person."""
    return gettext(lang, "No job title is registered for {name}.", name=name)


def titled(lang: str, title: str, place: str | None, contact: str) -> str:
    """Who has a job title (at a place)."""
    if place:
        text = gettext(
            lang, "The {title} in {place} is {contact}.", title=title, place=place, contact=contact
        )
    else:
        text = gettext(lang, "The {title} is {contact}.", title=title, contact=contact)
    return text[:1].upper() + text[1:]  # "rådgiveren er …" opens a Norwegian sentence


def titled_many(lang: str, title: str, place: str | None) -> str:
    """The heading of the list of people with a job title (at a place)."""
    if place:
        return gettext(lang, "With the title “{title}” in {place}:", title=title, place=place)
    return gettext(lang, "With the title “{title}”:", title=title)


def not_registered_field(lang: str, field: str, name: str) -> str:
    """A kind of detail the registry does not hold."""
    return gettext(lang, "No {field} is registered for {name}.", field=field, name=name)


def field_name(lang: str, key: str) -> str:
    """The name of a detail the registry does not hold."""
    names = {
        "phone": gettext(lang, "phone number"),
        "postal": gettext(lang, "postal address"),
        "visit": gettext(lang, "visiting address"),
        "time": gettext(lang, "time of day"),
        "link": gettext(lang, "link"),
    }
    return names[key]


def only_email(lang: str, contact: str) -> str:
    """What is registered instead: the e-mail address."""
    return gettext(lang, "What is registered: {contact}.", contact=contact)


def event_detail_missing(lang: str, field: str, title: str) -> str:
    """A kind of event detail the registry does not hold."""
    return gettext(lang, "No {field} is registered for {title}.", field=field, title=title)


def organisation_unknown(lang: str, name: str) -> str:
    """An organisation the newsletter names but the registry holds no contact for."""
    return gettext(lang, "No contact at {name} is registered.", name=name)


def signed_by(lang: str, contact: str) -> str:
    """Who signed the newsletter."""
    return gettext(lang, "The newsletter is signed by {contact}.", contact=contact)


def general_contact(lang: str, contact: str) -> str:
    """The general-enquiries contact."""
    return gettext(
        lang, "Questions about the newsletter and the programme: {contact}.", contact=contact
    )


def clarify_first_name(lang: str, name: str) -> str:
    """A bare first name: whom of the registered people with it?"""
    return gettext(lang, "Which {name} do you mean?", name=name)


def no_title_here(lang: str, title: str, place: str | None) -> str:
    """Nobody registered has the title (at the place)."""
    if place:
        return gettext(lang, "No {title} in {place} is registered.", title=title, place=place)
    return gettext(lang, "No {title} is registered.", title=title)


def title_of(holding: object) -> str:
    """The printed job title of a holding's role (empty when it has none)."""
    from bot.answering.titles import job_title

    found = job_title(getattr(getattr(holding, "role", None), "title", None))
    return found[1] if found else ""
