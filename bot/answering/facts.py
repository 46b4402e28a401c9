"""Answers about facts beyond "who holds a role": job titles (who has one, a person's own),
membership of audiences (yes/no, which ones, intersections), and details the registry does not
hold (a phone number, a postal address), said plainly with what is registered instead."""

from __future__ import annotations

from bot.answering import lexicon, render
from bot.answering import render_facts as facts
from bot.answering.index import Holding
from bot.answering.model import Answer
from bot.answering.reply import Context
from bot.answering.titles import person_titles, title_keys
from bot.registry.data import PersonRec

# Words that ask about a batch or network without naming which one ("which batch is Karmøy in?").
_GROUP_WORDS = frozenset(
    {"batch", "batches", "pulje", "puljen", "puljer", "puljene", "puljar", "group", "groups"}
)


# --- job titles -------------------------------------------------------------------------------


def asked_titles(ctx: Context) -> list[str]:
    """The job titles the question names, each once."""
    return list(dict.fromkeys(key for key, _, _ in title_keys(ctx.mentions.words)))


def answer_title(ctx: Context, keys: list[str]) -> Answer:
    """Who has a job title, at the place or organisation the question names."""
    index, lang, m = ctx.index, ctx.lang, ctx.mentions
    places, orgs = m.keys("place"), m.keys("org")
    org_seat = {o.key: o.municipality for o in index.data.organisations}
    held: list[Holding] = []
    seen: set[str] = set()
    for key in keys:
        for h in index.by_title.get(key, []):
            at = {r.municipality or org_seat.get(r.organisation or "") for r in h.person.roles}
            if places and not at & set(places):
                continue
            if orgs and not _with_org(ctx, h, orgs):
                continue
            if h.person.key not in seen:
                seen.add(h.person.key)
                held.append(h)
    place = places[0] if places else None
    place_name = render.place_name(index, place)
    said = _said_title(ctx)
    if not held:
        text = facts.no_title_here(lang, said, place_name)
        return ctx.not_found(text)
    views = [render.contact_view(index, h, lang) for h in held]
    if len(held) == 1:
        contact = render.name_and_email(index, held[0], lang)
        return ctx.answer(facts.titled(lang, said, place_name, contact), views)
    lines = []
    for h in held:
        line = f"{render.name_and_email(index, h, lang)} \u2013 {facts.title_of(h)}"
        where = render.place_name(index, h.role.municipality) if not place else None
        lines.append(f"{line}, {where}" if where else line)
    heading = facts.titled_many(lang, said, place_name)
    return ctx.answer(f"{heading}\n{render.bullets(lines, lang)}", views)


def _with_org(ctx: Context, h: Holding, orgs: list[str]) -> bool:
    """True when a holder works at one of the organisations: by role, or because the printed
    title names the organisation ("Secretary General OiER")."""
    from bot.answering.text import fold_words

    data = ctx.index.data
    if any(r.organisation in orgs for r in h.person.roles):
        return True
    title = f" {' '.join(fold_words(' '.join(r.title or '' for r in h.person.roles)))} "
    for key in orgs:
        org = data.organisation_by_key[key]
        for name in (org.name, org.name_en or "", *org.aliases):
            folded = " ".join(fold_words(name))
            if folded and f" {folded} " in title:
                return True
    return False


def _said_title(ctx: Context) -> str:
    """The title as the question wrote it."""
    found = title_keys(ctx.mentions.words)
    _, first, end = found[0]
    if ctx.lang == "en":
        # "Who are the directors?" with one holder: "The director is …".
        base = lexicon.TITLE_BASE.get(" ".join(ctx.mentions.words[first:end]))
        if base:
            return base
    return ctx.said(first, end - 1)


def person_title(ctx: Context, person: PersonRec, body: Answer) -> Answer:
    """A person's job title as a fact, before the rest of what the person is."""
    titles = person_titles(person)
    if titles:
        text = facts.title_is(ctx.lang, person.name, ", ".join(t for _, t in titles))
    else:
        text = facts.no_title(ctx.lang, person.name)
    return ctx.answer(f"{text}\n{body.text}", body.contacts)


# --- what the registry does not hold --------------------------------------------------------


def missing_details(ctx: Context, people: list[PersonRec]) -> str:
    """Lines saying which asked-for details are not registered, with what is (the e-mail)."""
    flags, lang = ctx.mentions.flags, ctx.lang
    lines = []
    for person in people:
        for flag in ("phone", "postal", "visit"):
            if flag not in flags:
                continue
            if flag == "phone" and person.phone:
                lines.append(f"{person.name}: {person.phone}")
                continue
            line = facts.not_registered_field(lang, facts.field_name(lang, flag), person.name)
            if person.email:
                line += " " + facts.only_email(lang, f"{person.name}, {person.email}")
            lines.append(line)
    return "\n".join(lines)


def with_missing(ctx: Context, answer: Answer, people: list[PersonRec]) -> Answer:
    """The answer with the not-registered details said first."""
    note = missing_details(ctx, people)
    if not note:
        return answer
    return Answer(
        answer.status,
        answer.lang,
        f"{note}\n{answer.text}",
        answer.contacts,
        answer.events,
        answer.suggestions,
    )


def office_not_held(ctx: Context, answer: Answer) -> Answer:
    """ "Who is Bodø's mayor?": the registry holds no such office. Said first, then what the
    registry does hold about the place (the answer found without the office)."""
    words = ctx.mentions.words
    office = next(
        (ctx.said(i, i).lower() for i, w in enumerate(words) if w in lexicon.UNHELD_OFFICES), ""
    )
    data = ctx.index.data
    places = [data.municipality_by_key[key].name for key in ctx.mentions.keys("place")]
    if places:
        note = ctx.msg("office_not_held", office=office, place=render.join_words(places, ctx.lang))
    else:
        note = ctx.msg("office_not_held_anywhere", office=office)
    return Answer(
        "not_found",
        answer.lang,
        f"{note}\n{answer.text}",
        answer.contacts,
        answer.events,
        answer.suggestions,
    )


# --- membership -------------------------------------------------------------------------------


def asked_audiences(ctx: Context) -> list[str]:
    """The audiences the question names, directly or through the body of the same name."""
    index, m = ctx.index, ctx.mentions
    found = list(m.keys("audience"))
    for org in m.keys("org"):
        audience = index.org_audience.get(org)
        if audience and audience not in found:
            found.append(audience)
    return found


def answer_membership(ctx: Context) -> Answer | None:
    """Yes/no: is a municipality in an audience (in all of several)? Which audiences is it in?
    Which municipalities are in an audience, or in two at once? None when the question is
    not about membership."""
    m, index, lang = ctx.mentions, ctx.index, ctx.lang
    places, audiences = m.keys("place"), asked_audiences(ctx)
    if not audiences and not places:
        return None  # most questions: neither a place nor a body to be a member of
    with_places = [a for a in audiences if index.data.audience_by_key[a].municipalities]
    if places and audiences and "yesno" in m.flags and "who" not in m.flags:
        return _is_member(ctx, places, audiences)
    group_words = set(m.words) & _GROUP_WORDS
    if places and not audiences and group_words and "who" not in m.flags:
        name = render.place_name(index, places[0]) or places[0]
        bodies = [
            index.data.audience_by_key[a].name(facts.record_lang(lang))
            for a in sorted(index.place_audiences.get(places[0], ()))
            if _is_group(ctx, a, group_words)
        ]
        return ctx.answer(facts.member_of(lang, name, bodies))
    if len(with_places) >= 2 and not places and "municipality" in m.flags:
        first, second = (index.data.audience_by_key[a] for a in with_places[:2])
        shared = [k for k in first.municipalities if k in second.municipalities]
        body = facts.both(
            lang, first.name(facts.record_lang(lang)), second.name(facts.record_lang(lang))
        )
        names = [render.place_name(index, k) or k for k in shared]
        if not names:
            return ctx.answer(facts.no_members(lang, body))
        return ctx.answer(facts.members_of(lang, body, names))
    if audiences and not places and "municipality" in m.flags and "who" not in m.flags:
        audience = index.data.audience_by_key[audiences[0]]
        body = audience.name(facts.record_lang(lang))
        if not audience.municipalities:
            return ctx.not_found(facts.no_members(lang, body))
        names = [render.place_name(index, k) or k for k in audience.municipalities]
        return ctx.answer(facts.members_of(lang, body, names))
    return None


def _is_group(ctx: Context, audience: str, words: set[str]) -> bool:
    """True when an audience is the kind of group asked about ("which batch": the batches)."""
    from bot.answering.text import fold_words

    record = ctx.index.data.audience_by_key[audience]
    names = {w for t in (record.name_en, record.name_nb, *record.aliases) for w in fold_words(t)}
    stems = {w.rstrip("s").removesuffix("ene").removesuffix("en") for w in words}
    return any(n.startswith(s) for n in names for s in stems if len(s) >= 4)


def _is_member(ctx: Context, places: list[str], audiences: list[str]) -> Answer:
    index, lang = ctx.index, ctx.lang
    lines = []
    every = True
    empty_bodies = False
    for place, key in ((p, a) for p in places for a in audiences):
        name = render.place_name(index, place) or place
        audience = index.data.audience_by_key[key]
        body = audience.name(facts.record_lang(lang))
        if place in audience.municipalities:
            lines.append(facts.member(lang, name, body))
        else:
            every = False
            members = [render.place_name(index, k) or k for k in audience.municipalities]
            if members:
                lines.append(facts.not_member(lang, name, body, members))
            else:
                empty_bodies = True
                lines.append(facts.no_members(lang, body))
    if len(lines) == 1 and not empty_bodies:
        return ctx.answer(lines[0])  # "Yes, Bodø is in …" says its yes or no itself
    verdict = facts.yes(lang) if every else facts.no(lang)
    return ctx.answer(verdict + "\n" + "\n".join(lines))
