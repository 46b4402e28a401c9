"""Answers about people: who holds a role where, who someone is, who is in a place or body.

A role nobody holds at the place asked about gives `not_found`, with the people who can help in
`contacts` (the national counterpart of the role, else the programme's holders of it, else the
general contact).
"""

from __future__ import annotations

from bot.answering import lexicon, render
from bot.answering.index import Holding
from bot.answering.model import Answer
from bot.answering.reply import Context
from bot.answering.resolve import NameRun, Span
from bot.registry_data import PersonRec, RoleRec

_NO_ROLE = RoleRec(role="")
# The programme's general contact: the referral of last resort.
GENERAL_CONTACT = "general_contact"


def answer_people(ctx: Context) -> Answer | None:
    """An answer about people, places or bodies, or None when the question names none."""
    m = ctx.mentions
    places, unregistered = m.keys("place"), m.unregistered_places()
    if unregistered and not places:
        return _not_in_programme(ctx, *unregistered[0])
    named = m.keys("person")
    if m.near_misses and not named and not places:
        return _near_miss(ctx)
    if named:
        answers = [person_answer(ctx, ctx.index.data.person_by_key[k]) for k in named]
        if len(answers) == 1:
            return answers[0]
        return ctx.answer(
            "\n\n".join(a.text for a in answers), [c for a in answers for c in a.contacts]
        )
    runs = [r for r in m.name_runs if r.registered or _has_known_name(ctx, r)]
    if runs:
        return answer_name(ctx, runs[0])
    pure_role = any(all(kind == "role" for kind, _ in s.senses) for s in m.spans)
    if "municipality" in m.flags and "list" in m.flags and not places and not pure_role:
        return _municipalities(ctx)
    if m.keys("role") or m.flags & {"head", "deputy"}:
        return _answer_role(ctx)
    if places and _body_of(ctx):
        return _place_in_body(ctx, places[0])
    if places:
        return _place_people(ctx, places[0])
    if m.keys("org") or m.keys("audience"):
        return _body_people(ctx)
    unknown_runs = [r for r in m.name_runs if r.unknown]
    if unknown_runs and "who" in m.flags:
        return _unknown_person(ctx, unknown_runs[0])
    if "municipality" in m.flags and "list" in m.flags:
        return _municipalities(ctx)
    return None


def _has_known_name(ctx: Context, run: NameRun) -> bool:
    words = ctx.mentions.words
    return any(words[i] in ctx.index.known_names for i in run.positions)


def _run_text(ctx: Context, run: NameRun) -> str:
    tokens = ctx.mentions.question.tokens
    first, last = tokens[run.positions[0]], tokens[run.positions[-1]]
    return ctx.mentions.question.text[first.start : last.end]


# --- a person by name -------------------------------------------------------------------------


def answer_name(ctx: Context, run: NameRun) -> Answer:
    """Who a named person is; a question back when the name fits several people or nobody."""
    index = ctx.index
    said = _run_text(ctx, run)
    if not run.registered:
        return _unknown_person(ctx, run)
    matching: set[str] | None = None
    for word in run.registered:
        keys = set(index.name_parts[word])
        matching = keys if matching is None else matching & keys
    if not matching:
        # Parts of different people's names ("Kristian Rønningsen"): nobody has them all.
        scores: dict[str, int] = {}
        for word in run.registered:
            for key in index.name_parts[word]:
                scores[key] = scores.get(key, 0) + 1
        best = sorted(scores, key=lambda k: -scores[k])
        return _did_you_mean_person(ctx, run, said, best)
    unknown = list(run.unknown)
    for said_word, choices in run.fuzzy:
        narrowed = {k for k in matching if set(choices) & set(index.person_words[k])}
        if narrowed:
            matching = narrowed
        else:
            unknown.append(said_word)
    ordered = sorted(matching, key=index.person_order.__getitem__)
    if unknown:
        return _did_you_mean_person(ctx, run, said, ordered)
    if len(ordered) > 1:
        exact = [k for k in ordered if list(index.person_words[k]) == run.registered]
        if len(exact) == 1:
            ordered = exact
    if len(ordered) == 1:
        return person_answer(ctx, index.data.person_by_key[ordered[0]])
    names = [index.data.person_by_key[k].name for k in ordered]
    suggestions = [ctx.rewrite(run.positions[0], run.positions[-1], n) for n in names[:5]]
    text = ctx.msg("clarify_people", name=said) + "\n" + render.bullets(names, ctx.lang)
    return ctx.clarify(text, suggestions)


def _did_you_mean_person(ctx: Context, run: NameRun, said: str, keys: list[str]) -> Answer:
    people = [ctx.index.data.person_by_key[k] for k in keys[:5]]
    text = ctx.msg("unknown_person", name=said)
    if not people:
        return ctx.not_found(f"{text} {ctx.hint()}")
    names = [p.name for p in people]
    text += " " + ctx.msg("did_you_mean", options=render.join_words(names, ctx.lang))
    return ctx.clarify(text, [ctx.rewrite(run.positions[0], run.positions[-1], n) for n in names])


def _unknown_person(ctx: Context, run: NameRun) -> Answer:
    """A name nobody registered has: suggest registered people with a name part close to one
    of its words (Silje -> Silja), else say so."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    index = ctx.index
    said = _run_text(ctx, run)
    close: list[str] = []
    parts = list(index.name_parts)
    for i in run.positions:
        word = ctx.mentions.words[i]
        if len(word) < 4:
            continue
        for part, _, _ in process.extract(
            word, parts, scorer=OSA.distance, score_cutoff=1, limit=5
        ):
            close.extend(index.name_parts[part])
    keys = list(dict.fromkeys(close))
    if not keys:
        return ctx.not_found(f"{ctx.msg('unknown_person', name=said)} {ctx.hint()}")
    return _did_you_mean_person(ctx, run, said, keys)


def _holdings_of(ctx: Context, person: PersonRec) -> list[Holding]:
    return [Holding(person, role) for role in person.roles]


def person_answer(ctx: Context, person: PersonRec) -> Answer:
    """Everything a person is in the programme, with their address."""
    index, lang = ctx.index, ctx.lang
    holdings = _holdings_of(ctx, person)
    if not holdings:
        return ctx.answer(render.name_and_email(index, Holding(person, _NO_ROLE), lang))
    lines = [render.role_detail(index, h, lang) for h in holdings]
    head = render.name_and_email(index, holdings[0], lang)
    text = ctx.msg("person_roles", contact=head) + "\n" + render.bullets(lines, lang)
    if not person.email:
        colleagues = [
            h
            for role in person.roles
            for h in index.by_role.get(role.role, [])
            if h.person.key != person.key
            and h.person.email
            and h.role.organisation == role.organisation
            and h.role.municipality == role.municipality
        ]
        if colleagues:
            text += "\n" + ctx.msg(
                "same_role", contact=render.name_and_email(index, colleagues[0], lang)
            )
    return ctx.answer(text, [render.contact_view(index, h, lang) for h in holdings])


# --- roles ------------------------------------------------------------------------------------


def _answer_role(ctx: Context) -> Answer:
    m, index = ctx.mentions, ctx.index
    places = m.keys("place")
    place = places[0] if places else None
    orgs = m.keys("org") or [
        index.audience_org[a] for a in m.keys("audience") if a in index.audience_org
    ]
    org = orgs[0] if orgs else None
    roles = m.keys("role")
    if m.flags & {"head", "deputy"} and org:
        heads = index.head_roles(org, deputy="deputy" in m.flags)
        if heads and not any((r, org) in index.by_role_org for r in roles if r in heads):
            roles = heads
        elif heads:
            roles = [r for r in roles if r in heads]
    elif m.flags & {"head", "deputy"} and not roles:
        roles = _leader_roles(ctx, deputy="deputy" in m.flags)
    if place is None and org is None:
        unknown = [r for r in m.name_runs if r.unknown]
        if unknown:
            return ctx.not_found(
                ctx.msg("near_miss", word=_run_text(ctx, unknown[0]))
                + " "
                + _registered_places(ctx)
            )
    if not roles:
        return _body_people(ctx) if place is None else _place_people(ctx, place)
    if roles == [GENERAL_CONTACT] and place is not None:
        # "The contact person in Asker" is whoever Asker has, not the programme's contact.
        return _place_people(ctx, place)
    held: list[Holding] = []
    for role in roles:
        scopes: list[str | None] = list(places) or [None]
        for at in scopes:
            if at is not None:
                found = index.by_role_place.get((role, at), [])
                if not found and org is not None:
                    found = [h for h in index.by_role_org.get((role, org), []) if _at(h, at)]
            elif org is not None:
                found = index.by_role_org.get((role, org), [])
            else:
                found = index.by_role.get(role, [])
            held.extend(h for h in found if h not in held)
    if len(places) > 1 and held:
        return _role_holders(ctx, held, None, roles)
    if not held and org is not None and place is None:
        # The role exists but not at that body: say who holds it anywhere.
        held = [h for role in roles for h in index.by_role.get(role, [])]
    if not held:
        return _nobody_holds(ctx, roles[0], place)
    return _role_holders(ctx, held, place, roles)


def _leader_roles(ctx: Context, deputy: bool) -> list[str]:
    """Leader roles the question's other words point at ("who leads the programme?"), or all
    of them when nothing does."""
    from bot.answering.text import fold_words

    index = ctx.index
    asked = set(ctx.mentions.words) - lexicon.STOP - lexicon.HEAD - lexicon.DEPUTY
    leaders = [
        r
        for r in index.data.role_types
        if r.key.endswith("leader") and ("deputy" in r.key) == deputy
    ]
    named = [
        r.key
        for r in leaders
        if asked & {w for t in (r.name_en, r.name_nb, *r.terms) for w in fold_words(t)}
    ]
    return named or [r.key for r in leaders]


def _body_of(ctx: Context) -> str | None:
    """The organisation the question names (directly or through its audience)."""
    m, index = ctx.mentions, ctx.index
    orgs = m.keys("org") or [
        index.audience_org[a] for a in m.keys("audience") if a in index.audience_org
    ]
    return orgs[0] if orgs else None


def _place_in_body(ctx: Context, place: str) -> Answer:
    """Who represents a place in a body ("who represents Stavanger in the network?")."""
    index, org = ctx.index, _body_of(ctx)
    held = [h for h in index.by_place.get(place, []) if h.role.organisation == org]
    if not held:
        return _place_people(ctx, place)
    return _role_holders(ctx, held, place, list(dict.fromkeys(h.role.role for h in held)))


def _at(h: Holding, place: str) -> bool:
    return h.role.municipality == place


def _role_holders(ctx: Context, held: list[Holding], place: str | None, roles: list[str]) -> Answer:
    index, lang = ctx.index, ctx.lang
    views = [render.contact_view(index, h, lang) for h in held]
    place_name = render.place_name(index, place)
    one_role = len({h.role.role for h in held}) == 1
    role_text = render.role_name(index, held[0].role.role, lang)
    if len(held) == 1:
        contact = render.name_and_email(index, held[0], lang)
        if place_name:
            text = ctx.msg("role_one_place", place=place_name, role=role_text, contact=contact)
        else:
            text = ctx.msg("role_one", role=role_text, contact=contact)
        extra = render.where(index, held[0], lang)
        if extra and not place_name and held[0].role.municipality:
            text = text[:-1] + f" ({extra})."
        return ctx.answer(text, views)
    lines = render.people_lines(index, held, lang, with_role=not one_role)
    if one_role:
        key = "role_many_place" if place_name else "role_many"
        header = ctx.msg(key, role=role_text, place=place_name or "", count=len(lines))
    else:
        header = ctx.msg("holders_many", count=len(lines))
    return ctx.answer(header + "\n" + render.bullets(lines, lang), views)


def _nobody_holds(ctx: Context, role: str, place: str | None) -> Answer:
    index, lang = ctx.index, ctx.lang
    role_text = render.role_name(index, role, lang)
    place_name = render.place_name(index, place)
    if place_name:
        text = ctx.msg("role_none_place", place=place_name, role=role_text)
    else:
        text = ctx.msg("role_none", role=role_text)
    helpers = index.by_role.get(f"national_{role}", [])
    if not helpers and place:
        helpers = [h for h in index.by_role.get(role, []) if not h.role.municipality]
    if not helpers:
        helpers = index.by_role.get(GENERAL_CONTACT, [])
    if helpers:
        helper_role = render.role_name(index, helpers[0].role.role, lang)
        contacts = ", ".join(render.name_and_email(index, h, lang) for h in helpers[:3])
        text += " " + ctx.msg("referral", role=helper_role, contact=contacts)
    return ctx.not_found(text, [render.contact_view(index, h, lang) for h in helpers[:3]])


# --- places and bodies ------------------------------------------------------------------------


def _place_people(ctx: Context, place: str) -> Answer:
    index, lang = ctx.index, ctx.lang
    name = render.place_name(index, place) or place
    held = index.by_place.get(place, [])
    if not held:
        helpers = index.by_role.get(GENERAL_CONTACT, [])
        text = ctx.msg("place_nobody", place=name)
        if helpers:
            helper_role = render.role_name(index, GENERAL_CONTACT, lang)
            text += " " + ctx.msg(
                "referral", role=helper_role, contact=render.name_and_email(index, helpers[0], lang)
            )
        return ctx.not_found(text, [render.contact_view(index, h, lang) for h in helpers[:1]])
    lines = render.people_lines(index, held, lang)
    text = ctx.msg("place_people", place=name) + "\n" + render.bullets(lines, lang)
    return ctx.answer(text, [render.contact_view(index, h, lang) for h in held])


def _body_people(ctx: Context) -> Answer:
    """Who is in an organisation or audience: its role holders and its named members."""
    m, index, lang = ctx.mentions, ctx.index, ctx.lang
    orgs, audiences = m.keys("org"), m.keys("audience")
    org = orgs[0] if orgs else index.audience_org.get(audiences[0]) if audiences else None
    audience = audiences[0] if audiences else index.org_audience.get(org or "")
    held: list[Holding] = list(index.by_org.get(org, [])) if org else []
    if audience:
        named = set(index.data.audience_by_key[audience].people)
        for person in index.data.people:
            if person.key in named and not any(h.person.key == person.key for h in held):
                held.extend(_holdings_of(ctx, person)[:1])
    if org:
        body = render.organisation_name(index, org, lang) or org
    else:
        body = index.data.audience_by_key[audience or ""].name(lang)
    if not held and audience:
        members = index.data.audience_members(audience)
        held = [Holding(p, p.roles[0]) for p in members if p.roles]
    if not held:
        return _nobody_holds_body(ctx, body)
    lines = render.people_lines(index, held, lang)
    text = ctx.msg("body_people", body=body, count=len(lines)) + "\n" + render.bullets(lines, lang)
    return ctx.answer(text, [render.contact_view(index, h, lang) for h in held])


def _nobody_holds_body(ctx: Context, body: str) -> Answer:
    index, lang = ctx.index, ctx.lang
    helpers = index.by_role.get(GENERAL_CONTACT, [])
    text = ctx.msg("body_nobody", body=body)
    if helpers:
        text += " " + ctx.msg(
            "referral",
            role=render.role_name(index, GENERAL_CONTACT, lang),
            contact=render.name_and_email(index, helpers[0], lang),
        )
    return ctx.not_found(text, [render.contact_view(index, h, lang) for h in helpers[:1]])


def _municipalities(ctx: Context) -> Answer:
    m, index = ctx.mentions, ctx.index
    audiences = m.keys("audience")
    if audiences and index.data.audience_by_key[audiences[0]].municipalities:
        audience = index.data.audience_by_key[audiences[0]]
        names = [render.place_name(index, k) or k for k in audience.municipalities]
        return ctx.answer(
            ctx.msg(
                "municipalities_in",
                body=audience.name(ctx.lang),
                count=len(names),
                places=", ".join(names),
            )
        )
    names = [p.name for p in index.data.municipalities]
    return ctx.answer(ctx.msg("municipalities", count=len(names), places=", ".join(names)))


# --- near misses ------------------------------------------------------------------------------


def _registered_places(ctx: Context) -> str:
    names = [p.name for p in ctx.index.data.municipalities]
    shown = ", ".join(names[: render.MAX_LISTED])
    if len(names) > render.MAX_LISTED:
        shown += " " + ctx.msg("and_more", count=len(names) - render.MAX_LISTED)
    return ctx.msg("registered_places", places=shown)


def _not_in_programme(ctx: Context, place: str, span: Span) -> Answer:
    """A real place that is not registered: a registered place spelt alike is offered back
    (Kristiansand -> Kristiansund?), else the registered places are listed."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    from bot.answering.text import fold_words

    index = ctx.index
    text = ctx.msg("not_registered_place", place=place)
    folded = " ".join(fold_words(place))
    limit = 1 if len(folded) < 5 else 2
    close = process.extract(folded, index.place_names, scorer=OSA.distance, score_cutoff=limit)
    names = [name for name, _, _ in sorted(close, key=lambda r: r[1])][:5]
    if not names:
        return ctx.not_found(f"{text} {_registered_places(ctx)}")
    text += " " + ctx.msg("did_you_mean", options=render.join_words(names, ctx.lang))
    return ctx.clarify(text, [ctx.rewrite(span.start, span.end - 1, n) for n in names])


def _near_miss(ctx: Context) -> Answer:
    index = ctx.index
    miss = ctx.mentions.near_misses[0]
    names: list[str] = []
    for word in miss.choices:
        for kind, key in sorted(index.phrases.get(word, ())):
            if kind == "place":
                names.append(index.data.municipality_by_key[key].name)
            elif kind == "person":
                names.append(index.data.person_by_key[key].name)
        for key in index.name_parts.get(word, []):
            names.append(index.data.person_by_key[key].name)
        if not names and word in index.phrases:
            names.append(word)
    names = list(dict.fromkeys(names))[:5]
    text = ctx.msg("near_miss", word=miss.word)
    if not names:
        return ctx.not_found(f"{text} {ctx.hint()}")
    text += " " + ctx.msg("did_you_mean", options=render.join_words(names, ctx.lang))
    return ctx.clarify(text, [ctx.rewrite(miss.position, miss.position, n) for n in names])
