"""Near misses: a real place that is not registered, or a word close to registered names but
not close enough to be sure; both get a question back or a clear "not found"."""

from __future__ import annotations

from bot.answering import render
from bot.answering.model import Answer
from bot.answering.reply import Context
from bot.answering.resolve import NearMiss, Span
from bot.answering.text import fold_words

# How alike (rapidfuzz ratio, 0-100) a misspelt place must be to a registered one to be offered.
NEAR_PLACE_SCORE = 65
# Names offered in one question back.
MAX_OFFERED = 5
# Words before a place's name ("in Bodø", "i Bodø", "på Rana", "at", "from"), folded.
PLACE_PREPOSITIONS = frozenset({"in", "at", "from", "i", "pa", "fra"})


def registered_places(ctx: Context) -> str:
    """'Registered municipalities: …' (at most render.MAX_LISTED names)."""
    names = [p.name for p in ctx.index.data.municipalities]
    if not names:
        return ctx.msg("no_places")
    shown = ", ".join(names[: render.MAX_LISTED])
    if len(names) > render.MAX_LISTED:
        # "… and 331 more", without its full stop: the sentence around it ends with one.
        shown += " " + ctx.msg("and_more", count=len(names) - render.MAX_LISTED).rstrip(".")
    return ctx.msg("registered_places", places=shown)


def not_in_programme(ctx: Context, place: str, span: Span) -> Answer:
    """A real place that is not registered: a registered place spelt alike is offered back
    (Kristiansand -> Kristiansund?), else the registered places are listed."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    index = ctx.index
    text = ctx.msg("not_registered_place", place=place)
    folded = " ".join(fold_words(place))
    limit = 1 if len(folded) < 5 else 2
    near = index.place_names_near(len(folded), limit)
    close = process.extract(folded, near, scorer=OSA.distance, score_cutoff=limit)
    names = [name for name, _, _ in sorted(close, key=lambda r: r[1])][:5]
    if not names:
        return ctx.not_found(f"{text} {registered_places(ctx)}")
    text += " " + ctx.msg("did_you_mean", options=render.join_words(names, ctx.lang))
    return ctx.clarify(text, [ctx.rewrite(span.start, span.end - 1, n) for n in names])


def near_miss(ctx: Context, miss: NearMiss | None = None) -> Answer:
    """A word close to registered names but not surely one of them (the question's first
    such word unless `miss` is given): which did you mean?"""
    index = ctx.index
    miss = miss or ctx.mentions.near_misses[0]
    names: list[str] = []
    places: list[str] = []
    for word in miss.choices:
        for kind, key in sorted(index.phrases.get(word, ())):
            if kind == "place":
                places.append(index.data.municipality_by_key[key].name)
                names.append(places[-1])
            elif kind == "person":
                names.append(index.data.person_by_key[key].name)
        # A few of the people with that name part: at most five are offered in all.
        for key in index.name_parts.get(word, [])[: 2 * MAX_OFFERED]:
            names.append(index.data.person_by_key[key].name)
        if not names and word in index.phrases:
            names.append(word)
    if places and miss.position and ctx.mentions.words[miss.position - 1] in PLACE_PREPOSITIONS:
        # "the data contact in haugsund": a place is asked for, so only places are offered.
        names = places
    names = list(dict.fromkeys(names))[:MAX_OFFERED]
    text = ctx.msg("near_miss", word=miss.word)
    if not names:
        return ctx.not_found(f"{text} {ctx.hint()}")
    text += " " + ctx.msg("did_you_mean", options=render.join_words(names, ctx.lang))
    return ctx.clarify(text, [ctx.rewrite(miss.position, miss.position, n) for n in names])


def place_misses(ctx: Context) -> list[NearMiss]:
    """The question's near misses that may be registered places ("rana og bodoe")."""
    phrases = ctx.index.phrases
    return [
        miss
        for miss in ctx.mentions.near_misses
        if any(kind == "place" for word in miss.choices for kind, _ in phrases.get(word, ()))
    ]


def near_places(ctx: Context, said: str, first: int, last: int) -> Answer:
    """A place name nothing matched ("bodoo", "trme"): the registered places spelt most alike
    as a question back, else the registered places."""
    from rapidfuzz import fuzz, process

    text = ctx.msg("near_miss", word=said)
    folded = " ".join(fold_words(said))
    # Over the municipalities only (a few hundred names at most, whatever the registry's size).
    places = ctx.index.place_names
    close = process.extract(
        folded, list(places), scorer=fuzz.ratio, score_cutoff=NEAR_PLACE_SCORE, limit=5
    )
    names = [places[key] for key, _, _ in close]
    if not names:
        return ctx.not_found(f"{text} {registered_places(ctx)}")
    text += " " + ctx.msg("did_you_mean", options=render.join_words(names, ctx.lang))
    return ctx.clarify(text, [ctx.rewrite(first, last, n) for n in names])
