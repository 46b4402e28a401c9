"""The answer benchmark's first question mix and 10,000-contact registry, kept as they were so
figures from before and after a change (bench/versus.py) stay comparable.

The registry is the seed grown to the 356 municipalities of 2020, each with a data contact, a
network representative and 26 KPI theme contacts named from data/names_no.txt (names the engine
already knows: bench/answer.py's synthetic registries are the honest ones).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.answering.gazetteer import load_names, load_places, municipalities_2020
from bot.registry.data import MunicipalityRec, PersonRec, RegistryData, RoleRec, RoleTypeRec
from bot.textnorm import fold, slug

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2020, 1, 15, 9, 0, tzinfo=OSLO)
THEMES = [
    ("energy", "energi"), ("mobility", "mobilitet"), ("water", "vann"), ("waste", "avfall"),
    ("health", "helse"), ("education", "utdanning"), ("housing", "bolig"),
    ("culture", "kultur"), ("safety", "sikkerhet"), ("ict", "ikt"), ("economy", "økonomi"),
    ("environment", "miljø"), ("planning", "planlegging"), ("climate", "klima"),
    ("procurement", "innkjøp"), ("tourism", "turisme"), ("agriculture", "landbruk"),
    ("transport", "samferdsel"), ("social", "sosial"), ("public health", "folkehelse"),
    ("emergency", "beredskap"), ("innovation", "innovasjon"), ("statistics", "statistikk"),
    ("finance", "finans"), ("communication", "kommunikasjon"), ("participation", "medvirkning"),
]  # fmt: skip


def synthetic_registry(seed: RegistryData) -> RegistryData:
    """The seed registry grown to the 356 municipalities of 2020 and ~10,000 contacts."""
    rng = random.Random(2020)
    known = {fold(m.name) for m in seed.municipalities}
    municipalities = list(seed.municipalities)
    for place in municipalities_2020():
        if fold(place.name) not in known:
            key = slug(place.qualified)
            municipalities.append(MunicipalityRec(key, place.qualified, (), f"{key}.kommune.no"))
    role_types = list(seed.role_types)
    theme_roles = []
    for en, nb in THEMES:
        key = f"{slug(en).replace('-', '_')}_contact"
        role_types.append(
            RoleTypeRec(key, f"{en} contact", f"kontaktperson for {nb}", (f"{en} contact",
                        f"{nb}kontakt", f"kontaktperson for {nb}"))
        )  # fmt: skip
        theme_roles.append(key)
    names = load_names()
    combos = [(g, s) for g in names.given for s in names.surnames]
    rng.shuffle(combos)
    held = {(r.role, r.municipality) for p in seed.people for r in p.roles}
    people = list(seed.people)
    for place in municipalities:
        for role in ["data_contact", "network_representative", *theme_roles]:
            if (role, place.key) in held:
                continue
            given, surname = combos[len(people) % len(combos)]
            if len(people) >= len(combos):
                given = f"{given} {rng.choice(names.given)}"
            name = f"{given} {surname}"
            email = f"{slug(given)}.{slug(surname)}@{place.email_domain}"
            people.append(
                PersonRec(f"p{len(people)}-{slug(name)}", name, email, None,
                          (RoleRec(role, municipality=place.key),))
            )  # fmt: skip
    return replace(
        seed,
        municipalities=tuple(municipalities),
        role_types=tuple(role_types),
        people=tuple(people),
        version=1,
    )


def question_mix(data: RegistryData, count: int) -> list[str]:
    """A fixed, varied mix of questions, both languages."""
    rng = random.Random(7)
    places = [m.name for m in data.municipalities]
    people = [p.name for p in data.people]
    towns = [p.name for p in load_places() if p.section == "towns"]
    ascii_fold = str.maketrans({"ø": "o", "æ": "ae", "å": "aa", "Ø": "O", "Æ": "Ae", "Å": "Aa"})

    def typo(word: str) -> str:
        if len(word) < 6:
            return word
        i = rng.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    makers = [
        lambda: f"who is {rng.choice(places)}'s data contact?",
        lambda: f"hvem er datakontakt i {rng.choice(places)}?",
        lambda: f"who is the {rng.choice(THEMES)[0]} contact in {rng.choice(places)}?",
        lambda: f"hvem er kontaktperson for {rng.choice(THEMES)[1]} i {rng.choice(places)}?",
        lambda: f"who is {rng.choice(people)}?",
        lambda: f"hva er e-posten til {rng.choice(people)}?",
        lambda: f"who is {rng.choice(people).split()[0]}?",
        lambda: f"data contact {rng.choice(places).translate(ascii_fold)}",
        lambda: f"who is the data contact in {typo(rng.choice(places))}?",
        lambda: f"who is the data contact in {rng.choice(towns)}?",
        lambda: "når er styringsgruppemøtet?",
        lambda: "when is the data deadline?",
        lambda: f"hva skjer {rng.randint(1, 28)}. {rng.choice(['februar', 'mars', 'april'])}?",
        lambda: "what is next for the network?",
        lambda: "asdf qwerty zxcv",
        lambda: "'; DROP TABLE person; --",
    ]
    return [rng.choice(makers)() for _ in range(count)]
