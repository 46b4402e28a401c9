"""Synthetic registries of any size for the benchmarks: the seed registry grown to the 356
municipalities of 2020 and `contacts` people, with surnames the engine has never seen.

Surnames are built from farm-name stems and endings ("Haugland", "Bergseth", "Østvik"), so most
are not in bot/data/names_no.txt: a benchmark over a closed list of names the engine already knows
would flatter it. Every municipality gets a data contact and a network representative; the rest
of the people are theme contacts spread over the municipalities, several to a theme where the
registry is large, as a real national programme with many contacts per place would have.

`event_registry` is the calendar benchmarks' 1,000-event registry, and `feed_registry` the same
events in a registry grown to any number of people (bench/serve.py).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.answering.gazetteer import load_names, municipalities_2020
from bot.registry.data import (
    EventRec,
    MunicipalityRec,
    PersonRec,
    RegistryData,
    RoleRec,
    RoleTypeRec,
)
from bot.textnorm import fold, slug

OSLO = ZoneInfo("Europe/Oslo")
# Every benchmark event's last change: feeds of the same events are byte-identical.
EVENTS_CHANGED = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)

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

STEMS = [
    "Berg",
    "Dal",
    "Lund",
    "Vik",
    "Haug",
    "Strand",
    "Nes",
    "Moe",
    "Bakk",
    "Holm",
    "Sol",
    "Fjell",
    "Lie",
    "Rud",
    "Aas",
    "Eng",
    "Hag",
    "Tor",
    "Øy",
    "Ås",
    "Grøn",
    "Kvam",
    "Myr",
    "Skog",
    "Stein",
    "Brekk",
    "Bjør",
    "Elv",
    "Fos",
    "Gjer",
    "Hov",
    "Kleiv",
    "Lien",
    "Nord",
    "Sør",
    "Aust",
    "Vest",
    "Røn",
    "Sand",
    "Stav",
    "Tveit",
    "Ulv",
    "Vang",
    "Ørn",
    "Hammer",
    "Kval",
    "Lind",
    "Mjøs",
    "Nyhus",
    "Rang",
    "Sæter",
    "Tangen",
    "Vold",
    "Øst",
]
ENDINGS = [
    "en",
    "e",
    "heim",
    "stad",
    "land",
    "rud",
    "vik",
    "seth",
    "dal",
    "berg",
    "bø",
    "nes",
    "set",
    "gård",
    "li",
    "skog",
    "aas",
    "mo",
    "haug",
    "lund",
    "sæter",
    "tveit",
    "vold",
    "bakken",
    "holm",
    "strand",
    "fjord",
    "eid",
    "øy",
]


def varied_surnames(rng: random.Random) -> list[str]:
    """Farm-name style surnames: stem + ending, every one distinct, in a shuffled order."""
    names = sorted({stem + ending for stem in STEMS for ending in ["", *ENDINGS]})
    rng.shuffle(names)
    return names


def theme_role_types() -> list[RoleTypeRec]:
    """One role type per KPI theme ("energy contact", "energikontakt")."""
    return [
        RoleTypeRec(
            f"{slug(en).replace('-', '_')}_contact",
            f"{en} contact",
            f"kontaktperson for {nb}",
            (f"{en} contact", f"{nb}kontakt", f"kontaktperson for {nb}"),
        )
        for en, nb in THEMES
    ]


def synthetic_registry(
    seed: RegistryData, contacts: int, *, seed_value: int = 2020
) -> RegistryData:
    """The seed registry grown to every municipality of 2020 and about `contacts` people."""
    rng = random.Random(seed_value)
    known = {fold(m.name) for m in seed.municipalities}
    municipalities = list(seed.municipalities)
    for place in municipalities_2020():
        if fold(place.name) not in known:
            key = slug(place.qualified)
            municipalities.append(MunicipalityRec(key, place.qualified, (), f"{key}.kommune.no"))
    themes = theme_role_types()
    given = list(load_names().given)
    surnames = varied_surnames(rng)
    used: set[str] = {p.name for p in seed.people}
    held = {(r.role, r.municipality) for p in seed.people for r in p.roles}
    people = list(seed.people)

    def add(role: str, place: MunicipalityRec) -> None:
        while True:
            name = f"{rng.choice(given)} {rng.choice(surnames)}"
            if name in used:  # a middle name, as Norwegians often have, keeps names unique
                name = f"{rng.choice(given)} {name}"
            if name not in used:
                break
        used.add(name)
        email = f"{slug(name).replace('-', '.')}@{place.email_domain}"
        key = f"p{len(people)}-{slug(name)}"
        people.append(PersonRec(key, name, email, None, (RoleRec(role, municipality=place.key),)))

    for place in municipalities:
        for role in ("data_contact", "network_representative"):
            if (role, place.key) not in held and len(people) < contacts:
                add(role, place)
    slot = 0
    while len(people) < contacts:
        place = municipalities[slot % len(municipalities)]
        add(themes[(slot // len(municipalities)) % len(themes)].key, place)
        slot += 1
    return replace(
        seed,
        municipalities=tuple(municipalities),
        role_types=(*seed.role_types, *themes),
        people=tuple(people),
        version=1,
    )


# Run with `python -c FILL_SCRIPT N` in a checkout (PYTHONPATH: that checkout, then this one):
# fills the configured database with `synthetic_registry(seed, N)` through that checkout's own
# code, and prints the keys of the last fifty people who have an address (to edit in a bench).
FILL_SCRIPT = r"""
import sys
from pathlib import Path
from bench.synthetic import synthetic_registry
from bot.config import load_config
from bot.registry.data import load_registry_file
from bot.services import build_services

seed_file = Path("data/registry.toml")
if not seed_file.exists():
    seed_file = Path("bot/data/registry.toml")
services = build_services(load_config())
data = synthetic_registry(load_registry_file(seed_file), int(sys.argv[1]))
services.registry.replace(data)
services.close()
print(" ".join(p.key for p in data.people[-50:] if p.email))
"""


def event_registry(events: int) -> RegistryData:
    """`events` items over three years, every third one timed, each naming its contacts: the
    20 people who hold the two contact roles (the calendar benchmarks' registry)."""
    roles = (
        RoleTypeRec("host", "host", "vert"),
        RoleTypeRec("data", "data contact", "datakontakt"),
    )
    people = tuple(
        PersonRec(
            f"p{i}",
            f"Person Nummer {i} Ærlig-Østby",
            f"person{i}@kommune{i % 50}.example.org",
            None,
            (RoleRec("host" if i % 2 else "data"),),
        )
        for i in range(20)
    )
    items = []
    for i in range(events):
        day = date(2020, 1, 1) + timedelta(days=i % 1000)
        timed = i % 3 == 0
        start: date | datetime = (
            datetime(day.year, day.month, day.day, 9, tzinfo=OSLO) if timed else day
        )
        end: date | datetime | None = start + timedelta(hours=2) if timed else None
        items.append(
            EventRec(
                key=f"event-{i}",
                kind=("meeting", "deadline", "milestone")[i % 3],
                title_en=f'Meeting {i}: Bærekraftsløftet; network, "steering" group',
                title_nb=f"Møte {i}: Bærekraftsløftet; nettverk, «styringsgruppe»",
                start=start,
                end=end,
                location="Ålesund (The North West conference)",
                description_en="Agenda: KPI data, profiles, the next batch.\nBring your laptop.",
                contact_roles=("host", "data"),
                sequence=i % 4,
                updated_at=EVENTS_CHANGED,
            )
        )
    return RegistryData(role_types=roles, people=people, events=tuple(items))


def feed_registry(seed: RegistryData, events: int, people: int) -> RegistryData:
    """`event_registry(events)` grown to `people` with `synthetic_registry`'s municipalities
    and people. The events still name only the 20 holders of their two contact roles, so the
    feeds of every size are byte-identical: what differs is only the registry they are built
    from."""
    base = event_registry(events)
    if people <= len(base.people):
        return base
    grown = synthetic_registry(seed, people - len(base.people))
    return replace(
        grown,
        role_types=(*base.role_types, *grown.role_types),
        people=(*base.people, *grown.people),
        events=base.events,
    )
