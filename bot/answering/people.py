"""Answers about people: which kind of question about people this is, and who a named person
is (a question back when the name fits several people, or nobody)."""

from __future__ import annotations

from bot.answering import facts, render
from bot.answering import render_facts as facts_text
from bot.answering.index import Holding
from bot.answering.model import Answer
from bot.answering.multi import merge
from bot.answering.nearmiss import near_miss, not_in_programme, place_misses
from bot.answering.reply import MAX_SUGGESTIONS, Context
from bot.answering.resolve import NameRun
from bot.answering.roles import (
    answer_role,
    body_head,
    body_of,
    body_people,
    holdings_of,
    municipalities,
    place_in_body,
    place_people,
    unregistered_role_of_body,
)
from bot.answering.titles import person_titles
from bot.registry.data import PersonRec, RoleRec

_NO_ROLE = RoleRec(role="")


def answer_people(ctx: Context) -> Answer | None:
    """An answer about people, places or bodies, or None when the question names none."""
    m = ctx.mentions
    places, unregistered = m.keys("place"), m.unregistered_places()
    if unregistered and not places:
        answer = not_in_programme(ctx, *unregistered[0])
        if "yesno" in m.flags and answer.status == "not_found":
            # "Is Bergen in the network?" has an answer: no, it is not in the programme.
            return ctx.answer(f"{facts_text.no(ctx.lang)} {answer.text}")
        return answer
    named = m.keys("person")
    if m.near_misses and not named and not places:
        return near_miss(ctx)
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
    membership = facts.answer_membership(ctx)
    if membership is not None:
        return membership
    titles = facts.asked_titles(ctx)
    if titles and "asks_title" not in m.flags:
        titled = facts.answer_title(ctx, titles)
        if titled.status != "answer":
            # "The director of the UN centre": nobody there has that title, but it names
            # the body's head.
            titled = body_head(ctx, titles) or titled
        if titled.status == "answer" or not m.keys("role"):
            return titled
    pure_role = any(all(kind == "role" for kind, _ in s.senses) for s in m.spans)
    if "municipality" in m.flags and "list" in m.flags and not places and not pure_role:
        return municipalities(ctx)
    if m.keys("role") or m.flags & {"head", "deputy"}:
        answer = answer_role(ctx)
        if places and unregistered:  # "datakontakt i rana og bergen": Bergen gets its part
            answer = merge([answer, *(not_in_programme(ctx, *u) for u in unregistered)])
        return answer
    role_of_body = unregistered_role_of_body(ctx)
    if role_of_body is not None:
        return role_of_body
    if places and body_of(ctx):
        if len(places) > 1:
            return merge([place_in_body(ctx, p) for p in places])
        return place_in_body(ctx, places[0])
    if places:
        # Every place asked about gets its part, the unregistered and misspelt ones too.
        return _joined([*_place_parts(ctx), *(near_miss(ctx, m) for m in place_misses(ctx))])
    if m.keys("org") or m.keys("audience"):
        return body_people(ctx)
    unknown_runs = [r for r in m.name_runs if r.unknown]
    if unknown_runs and "who" in m.flags:
        return _unknown_person(ctx, unknown_runs[0])
    if "municipality" in m.flags and "list" in m.flags:
        return municipalities(ctx)
    return None


def place_overview(ctx: Context) -> Answer:
    """Who is registered at the places the question names (each its part), or the hint of
    what can be asked when it names none."""
    parts = _place_parts(ctx)
    return _joined(parts) if parts else ctx.not_found(ctx.hint())


def _place_parts(ctx: Context) -> list[Answer]:
    """A part for each place the question names: who is there, or that it is outside."""
    m = ctx.mentions
    return [
        *(place_people(ctx, place) for place in m.keys("place")),
        *(not_in_programme(ctx, *place) for place in m.unregistered_places()),
    ]


def _joined(parts: list[Answer]) -> Answer:
    """One part as it is (merging would fold its repeated contacts), several merged."""
    return parts[0] if len(parts) == 1 else merge(parts)


def _has_known_name(ctx: Context, run: NameRun) -> bool:
    words = ctx.mentions.words
    return any(words[i] in ctx.index.known_names for i in run.positions)


# --- a person by name -------------------------------------------------------------------------


def answer_name(ctx: Context, run: NameRun) -> Answer:
    """Who a named person is; a question back when the name fits several people or nobody."""
    index = ctx.index
    said = ctx.said(run.positions[0], run.positions[-1])
    if not run.registered:
        return _unknown_person(ctx, run)
    # Everyone with every registered word of the name, in registry order (name_parts lists
    # are): the shortest list filtered, so a common first name costs one pass over its people.
    parts = [index.name_parts[word] for word in dict.fromkeys(run.registered)]
    shortest = min(parts, key=len)
    others = [
        word for word in dict.fromkeys(run.registered) if index.name_parts[word] is not shortest
    ]
    matching = (
        [k for k in shortest if all(w in index.person_words[k] for w in others)]
        if others
        else shortest
    )
    if not matching:
        # Parts of different people's names ("Kristian Rønningsen"): nobody has them all.
        scores: dict[str, int] = {}
        for word in run.registered:
            for key in index.name_parts[word]:
                scores[key] = scores.get(key, 0) + 1
        best = sorted(scores, key=lambda k: -scores[k])
        return _did_you_mean_person(ctx, run, said, best)
    unknown = list(run.unknown)
    chosen: list[set[str]] = []  # the people close to each earlier near miss
    for said_word, choices in run.fuzzy:
        close = {k for c in choices for k in index.name_parts.get(c, ())}
        if len(close) < len(matching):
            # From the near miss's few people ("Nrddal": the Norddals), not every Maria.
            narrowed = sorted(
                (
                    k
                    for k in close
                    if all(w in index.person_words[k] for w in run.registered)
                    and all(k in earlier for earlier in chosen)
                ),
                key=index.person_order.__getitem__,
            )
        else:
            narrowed = [k for k in matching if k in close]
        if narrowed:
            matching = narrowed
            chosen.append(close)
        else:
            unknown.append(said_word)
    ordered = matching
    if unknown:
        return _did_you_mean_person(ctx, run, said, ordered)
    if len(ordered) > 1:
        # Whoever is called exactly these words: the index files each whole name as a phrase,
        # so a common first name costs no pass over everyone who has it.
        whole = index.phrases.get(" ".join(run.registered), ())
        exact = [k for kind, k in whole if kind == "person" and k in ordered]
        if len(exact) == 1:
            ordered = exact
    if len(ordered) == 1:
        words = index.person_words[ordered[0]]
        first_name_only = run.registered == [words[0]] and len(words) > 1
        if not first_name_only:
            return person_answer(ctx, index.data.person_by_key[ordered[0]])
    # A bare first name is never taken for one person: others outside the registry share it.
    # Only the names shown are looked up; the rest are counted ("… and 812 more").
    names = [index.data.person_by_key[k].name for k in ordered[: render.MAX_LISTED]]
    people = [index.data.person_by_key[k] for k in ordered[:MAX_SUGGESTIONS]]
    suggestions = [ctx.rewrite(run.positions[0], run.positions[-1], n) for n in names[:5]]
    if len(ordered) == 1:
        text = (
            facts_text.clarify_first_name(ctx.lang, said) + "\n" + render.bullets(names, ctx.lang)
        )
    else:
        text = (
            ctx.msg("clarify_people", name=said)
            + "\n"
            + render.bullets(names, ctx.lang, total=len(ordered))
        )
    asked = ctx.clarify(text, suggestions)
    views = tuple(
        render.contact_view(index, Holding(p, p.roles[0] if p.roles else _NO_ROLE), ctx.lang)
        for p in people
    )
    return Answer("clarify", asked.lang, asked.text, views, (), asked.suggestions)


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
    said = ctx.said(run.positions[0], run.positions[-1])
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


def person_answer(ctx: Context, person: PersonRec) -> Answer:
    """Everything a person is in the programme, with their address."""
    answer = _person_roles(ctx, person)
    asked = facts.asked_titles(ctx)
    if asked and "yesno" in ctx.mentions.flags:
        # "Is Lars Bjerke the chief executive?": yes or no, with the title registered.
        held = {key for key, _ in person_titles(person)}
        verdict = facts_text.yes if held & set(asked) else facts_text.no
        titled = facts.person_title(ctx, person, answer)
        return ctx.answer(f"{verdict(ctx.lang)} {titled.text}", titled.contacts)
    if "asks_title" in ctx.mentions.flags:
        return facts.person_title(ctx, person, answer)
    return answer


def _person_roles(ctx: Context, person: PersonRec) -> Answer:
    index, lang = ctx.index, ctx.lang
    holdings = holdings_of(ctx, person)
    if not holdings:
        return ctx.answer(render.name_and_email(index, Holding(person, _NO_ROLE), lang))
    lines = [render.role_detail(index, h, lang) for h in holdings]
    head = render.name_and_email(index, holdings[0], lang)
    text = ctx.msg("person_roles", contact=head) + "\n" + render.bullets(lines, lang)
    if not person.email:
        colleagues = [
            h
            for role in person.roles
            for h in _same_role(ctx, role)
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


def _same_role(ctx: Context, role: RoleRec) -> list[Holding]:
    """Holders of a role at its place or body, from the narrowest index that has them."""
    index = ctx.index
    if role.municipality:
        return index.by_role_place.get((role.role, role.municipality), [])
    if role.organisation:
        return index.by_role_org.get((role.role, role.organisation), [])
    return index.by_role.get(role.role, [])
