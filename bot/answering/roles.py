"""Answers about roles, places and bodies: who holds a role where, who is in a municipality,
an organisation or an audience.

A role nobody holds at the place asked about gives `not_found`, with the people who can help in
`contacts` (the national counterpart of the role, else the programme's holders of it, else the
general contact).
"""

from __future__ import annotations

from bot.answering import lexicon, render
from bot.answering.index import Holding
from bot.answering.model import Answer
from bot.answering.nearmiss import PLACE_PREPOSITIONS, near_places, registered_places
from bot.answering.reply import MAX_SUGGESTIONS, Context
from bot.answering.resolve import INTENT_WORDS
from bot.registry.data import PersonRec, RoleRec

# The programme's general contact: the referral of last resort.
GENERAL_CONTACT = "general_contact"
# Up to this many holders of a role are listed when no place is named; more get a count and a
# question back for the place (a national registry has hundreds of data contacts).
HANDFUL = 12


def holdings_of(ctx: Context, person: PersonRec) -> list[Holding]:
    """Every role of a person."""
    return [Holding(person, role) for role in person.roles]


def answer_role(ctx: Context) -> Answer:
    """Who holds the role(s) asked about, at the place or body asked about; a leader or
    deputy of a body when the question asks who leads it."""
    m, index = ctx.mentions, ctx.index
    places = m.keys("place")
    place = places[0] if places else None
    orgs = m.keys("org") or [
        index.audience_org[a] for a in m.keys("audience") if a in index.audience_org
    ]
    org = orgs[0] if orgs else None
    roles = m.keys("role")
    if org is not None:
        seat = index.data.organisation_by_key[org].municipality
        if seat in places and index.by_org.get(org):
            # "The UN centre in Trondheim": the city is where the body sits, not a filter.
            places = [p for p in places if p != seat]
            place = places[0] if places else None
    if "national" in m.flags and not places:
        # "Who is responsible for data collection nationally?": the national counterpart.
        types = index.data.role_type_by_key
        roles = [f"national_{r}" if f"national_{r}" in types else r for r in roles]
        roles = list(dict.fromkeys(roles))
    if roles == [GENERAL_CONTACT] and m.flags & {"head", "deputy"} and org is None:
        # "Who leads the programme?" asks for a leader, not for the programme's contact.
        roles = _leader_roles(ctx, deputy="deputy" in m.flags)
    if "newsletter_signatory" in roles and GENERAL_CONTACT in roles:
        # "Who signed the newsletter?": the newsletter is what was signed, not a topic.
        roles = [r for r in roles if r != GENERAL_CONTACT]
    if roles == [GENERAL_CONTACT] and org is not None and place is None:
        # "The contact person at KS" is whoever that body has, never the programme's contact.
        return body_people(ctx)
    if {"head", "deputy"} <= m.flags and org:
        heads = index.head_roles(org, deputy=False) + index.head_roles(org, deputy=True)
        if heads:
            roles = heads
    elif m.flags & {"head", "deputy"} and org:
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
                ctx.msg(
                    "near_miss", word=ctx.said(unknown[0].positions[0], unknown[0].positions[-1])
                )
                + " "
                + registered_places(ctx)
            )
        misspelt = misspelt_place(ctx)
        if misspelt is not None:
            # "the data contact in trondhiem": a place nothing matched is asked back, never
            # dropped (which would make this a question about every holder of the role).
            return near_places(ctx, *misspelt)
    if not roles:
        return body_people(ctx) if place is None else place_people(ctx, place)
    if roles == [GENERAL_CONTACT] and place is not None:
        # "The contact person in Asker" is whoever Asker has, not the programme's contact.
        if len(places) > 1:
            from bot.answering.multi import merge

            return merge([place_people(ctx, p) for p in places])
        return place_people(ctx, place)
    gathered: list[list[Holding]] = []
    for role in roles:
        scopes: list[str | None] = list(places) or [None]
        for at in scopes:
            if at is not None:
                found = index.by_role_place.get((role, at), [])
                if not found and org is not None:
                    found = [h for h in index.by_role_org.get((role, org), []) if _at(h, at)]
                if not found:
                    # A role held at a body that sits in the place ("leader of the UN centre
                    # in Trondheim"), or by someone who represents the place ("the leader in
                    # Asker": the network's leader is Asker's representative), is that place's.
                    found = [
                        h
                        for h in index.by_role_unplaced.get(role, [])
                        if _seated(ctx, h, at) or any(r.municipality == at for r in h.person.roles)
                    ]
            elif org is not None:
                found = index.by_role_org.get((role, org), [])
            else:
                found = index.by_role.get(role, [])
            if found:
                gathered.append(found)
    if not gathered and org is not None and place is None:
        # The role exists but not at that body: say who holds it anywhere.
        gathered = [index.by_role[r] for r in roles if index.by_role.get(r)]
    held = _once(gathered)
    if len(places) > 1 and held:
        return _role_holders(ctx, held, None, roles)
    if not held:
        return _nobody_holds(ctx, roles[0], place)
    if place is None and len(held) > HANDFUL:
        held_roles = list(dict.fromkeys(found[0].role.role for found in gathered))
        return _ask_for_place(ctx, held, held_roles)
    return _role_holders(ctx, held, place, roles)


def _once(gathered: list[list[Holding]]) -> list[Holding]:
    """The holdings of several index lists, each once, in order: linear in their length (one
    list, the usual case, is used as it is: an index list holds each holding once)."""
    if len(gathered) == 1:
        return gathered[0]
    once: dict[tuple[str, RoleRec], Holding] = {}
    for found in gathered:
        for h in found:
            once.setdefault((h.person.key, h.role), h)
    return list(once.values())


def _ask_for_place(ctx: Context, held: list[Holding], roles: list[str]) -> Answer:
    """Many holders and no place: how many there are, and a question back for the place (with
    a few places that have holders as ready-to-send questions). Reads only as many holdings
    as it takes to find those places."""
    index, lang = ctx.index, ctx.lang
    role_text = render.join_words([render.role_name(index, r, lang) for r in roles], lang)
    places: dict[str, None] = {}
    for h in held:
        if h.role.municipality:
            places[h.role.municipality] = None
            if len(places) == MAX_SUGGESTIONS:
                break
    names = [render.place_name(index, k) or k for k in places]
    text = ctx.msg("role_count_ask", count=len(held), role=role_text)
    question = ctx.mentions.question.text.strip().rstrip("?!. ")
    suggestions = [ctx.msg("question_in_place", question=question, place=n) for n in names]
    if names:
        text += " " + ctx.msg("for_example", options=render.join_words(names, lang))
    return ctx.clarify(text, suggestions)


def misspelt_place(ctx: Context) -> tuple[str, int, int] | None:
    """Unknown words after a place preposition ("in bodoo", "i trondhjiem"): what the question
    said and its first and last token, or None."""
    m, index = ctx.mentions, ctx.index
    unknown = set(m.unknown)
    for i in m.unknown:
        word = m.words[i]
        if i == 0 or m.words[i - 1] not in PLACE_PREPOSITIONS:
            continue
        if m.words[i - 1] == "i" and ctx.lang == "en":
            continue  # "who do I contact": the pronoun, not the Norwegian preposition
        if (
            word in index.concept_phrases
            or word in lexicon.COMMON
            or word in INTENT_WORDS
            or index.is_event_word(word)
        ):
            continue
        last = i
        while last + 1 in unknown:
            last += 1
        return ctx.said(i, last), i, last
    return None


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


def body_of(ctx: Context) -> str | None:
    """The organisation the question names (directly or through its audience)."""
    m, index = ctx.mentions, ctx.index
    orgs = m.keys("org") or [
        index.audience_org[a] for a in m.keys("audience") if a in index.audience_org
    ]
    return orgs[0] if orgs else None


def place_in_body(ctx: Context, place: str) -> Answer:
    """Who represents a place in a body ("who represents Stavanger in the network?")."""
    index, org = ctx.index, body_of(ctx)
    held = [h for h in index.by_place.get(place, []) if h.role.organisation == org]
    if not held:
        return place_people(ctx, place)
    return _role_holders(ctx, held, place, list(dict.fromkeys(h.role.role for h in held)))


def _at(h: Holding, place: str) -> bool:
    return h.role.municipality == place


def _seated(ctx: Context, h: Holding, place: str) -> bool:
    """True when a role without a municipality is held at an organisation seated in `place`."""
    if h.role.municipality or not h.role.organisation:
        return False
    org = ctx.index.data.organisation_by_key.get(h.role.organisation)
    return org is not None and org.municipality == place


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


def place_people(ctx: Context, place: str) -> Answer:
    """Everyone with a role in a municipality (or at an organisation located there)."""
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


def body_people(ctx: Context) -> Answer:
    """Who is in an organisation or audience: its role holders and its named members."""
    m, index, lang = ctx.mentions, ctx.index, ctx.lang
    orgs, audiences = m.keys("org"), m.keys("audience")
    org = orgs[0] if orgs else index.audience_org.get(audiences[0]) if audiences else None
    audience = audiences[0] if audiences else index.org_audience.get(org or "")
    held: list[Holding] = list(index.by_org.get(org, [])) if org else []
    if audience:
        # The audience's named people in registry order, each once: a lookup per name, never
        # a scan of every person.
        listed = {h.person.key for h in held}
        named = [
            k
            for k in index.data.audience_by_key[audience].people
            if k in index.person_order and k not in listed
        ]
        for key in sorted(dict.fromkeys(named), key=index.person_order.__getitem__):
            held.extend(holdings_of(ctx, index.data.person_by_key[key])[:1])
    if org:
        body = render.organisation_name(index, org, lang) or org
    elif audience:
        body = index.data.audience_by_key[audience].name(lang)
    else:
        return ctx.not_found(f"{ctx.msg('no_answer')} {ctx.hint()}")
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


def municipalities(ctx: Context) -> Answer:
    """The municipalities in the programme, or in the audience asked about."""
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


# Job titles that name a body's head or deputy head: "the director of the UN centre" is whoever
# leads it, whatever the registry calls that role.
HEAD_TITLES = frozenset({"director", "chief_executive"})
DEPUTY_TITLES = frozenset({"deputy_chief_executive"})
# Words between a role and the body it belongs to ("secretary of the steering group",
# "sekretær i styringsgruppen", "treasurer for the network"), folded.
_OF_BODY = frozenset({"of", "for", "in", "at", "i", "til", "pa", "hos", "ved"})
_ARTICLES = frozenset({"the", "a", "an", "den", "det", "dei", "de"})
_COPULAS = frozenset({"is", "are", "was", "er", "var", "vart"})
_ROLE_HEADS = ("leder", "leiar", "kontakt", "contact", "leader", "ansvarleg", "ansvarlig")


def body_head(ctx: Context, titles: list[str]) -> Answer | None:
    """The head (or deputy) of the body the question names, asked for by a job title
    ("director of the UN centre"), or None when the titles are not a head's or the body has
    no registered head."""
    org = body_of(ctx)
    wanted = set(titles)
    if org is None or not wanted & (HEAD_TITLES | DEPUTY_TITLES):
        return None
    deputy = not wanted & HEAD_TITLES
    heads = ctx.index.head_roles(org, deputy=deputy)
    held = [h for r in heads for h in ctx.index.by_role_org.get((r, org), [])]
    if not held:
        return None
    return _role_holders(ctx, held, None, heads)


def unregistered_role_of_body(ctx: Context) -> Answer | None:
    """A word nothing knows, written as a role of a named body ("the secretary of the steering
    group"): the body has no such role registered, and its head (else the general contact)
    can help. None when the question is not of that form."""
    m, index, lang = ctx.mentions, ctx.index, ctx.lang
    org = body_of(ctx)
    if org is None:
        return None
    audience = index.org_audience.get(org)
    span = m.span_of("org", org) or (m.span_of("audience", audience) if audience else None)
    if span is None:
        return None
    j = span.start - 1
    while j >= 0 and m.words[j] in _ARTICLES:
        j -= 1
    if j < 1 or m.words[j] not in _OF_BODY or (j - 1) not in m.unknown:
        return None
    before = j - 2
    while before >= 0 and m.words[before] in _ARTICLES:
        before -= 1
    if before >= 0 and m.words[before] not in _COPULAS:
        # Only "(who is) (the) secretary of ...": "hvem jobber i ..." has a verb there, and
        # "what is the purpose of ..." is asked with "what".
        return None
    if before >= 1 and m.words[before - 1] not in lexicon.WHO:
        return None
    word = m.words[j - 1]
    if (
        word in index.concept_phrases
        or word in lexicon.COMMON
        or word in INTENT_WORDS
        or index.is_event_word(word)
        or any(head in word for head in _ROLE_HEADS)
    ):
        # Known words, and compounds ending in a known role's head ("prosjektleiaren",
        # "kontakten"): a role the engine reads some other way, not an unknown one.
        return None
    body = render.organisation_name(index, org, lang) or org
    text = ctx.msg("role_none_place", place=body, role=ctx.said(j - 1, j - 1))
    heads = index.head_roles(org, deputy=False)
    helpers = [h for r in heads for h in index.by_role_org.get((r, org), [])][:3]
    if not helpers:
        helpers = index.by_role.get(GENERAL_CONTACT, [])[:1]
    if helpers:
        contacts = ", ".join(render.name_and_email(index, h, lang) for h in helpers)
        role = render.role_name(index, helpers[0].role.role, lang)
        text += " " + ctx.msg("referral", role=role, contact=contacts)
    return ctx.not_found(text, [render.contact_view(index, h, lang) for h in helpers])
