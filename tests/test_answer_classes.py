"""The classes of issue 10, tested class by class rather than by example: questions generated
from the registry (every role against every inflected form, in English, bokmål and nynorsk;
every municipality against every audience; every registered date without its year; every
titled person; unregistered places in every language), with expectations read from the registry
records themselves, plus hand-written rows for the classes that are not generated.

Run through the engine (the table), and a sample of every class and language through
`coordbot ask --json` and through the chat service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.answering.engine import AnswerEngine
from bot.chat import ChatService, Sender
from bot.cli import main
from bot.clock import FixedClock
from bot.config import load_config
from bot.registry.data import RegistryData, load_registry_file
from bot.resources import SEED_FILE
from bot.services import Services, build_services

OSLO = ZoneInfo("Europe/Oslo")
LATE = "2026-12-01T10:00"  # years after every registered item
EARLY = "2020-01-15T09:00"  # before the meetings of 2020
DATA = load_registry_file(SEED_FILE)
# A nynorsk question is answered in Norwegian; "nn" once the language detector tells nynorsk
# from bokmål, "nb" until then (the detector is not the engine's).
REPLY_LANGS = {"en": {"en"}, "nb": {"nb"}, "nn": {"nn"}}
YES = {"en": "yes", "nb": "ja", "nn": "ja"}
NO = {"en": "no", "nb": "nei", "nn": "nei"}


@dataclass(frozen=True)
class Case:
    cls: str
    question: str
    lang: str
    status: frozenset[str] = frozenset({"answer"})
    contacts: frozenset[str] | None = None  # exact set when given
    events: frozenset[str] | None = None  # exact set when given
    says: tuple[str, ...] = ()  # case-insensitive substrings of the reply
    never: frozenset[str] = field(default_factory=frozenset)  # names that must not appear
    now: str = LATE


def _case(cls: str, question: str, lang: str, **kw: object) -> Case:
    for key in ("status", "contacts", "events", "never"):
        if key in kw and kw[key] is not None and not isinstance(kw[key], frozenset):
            value = kw[key]
            kw[key] = frozenset([value] if isinstance(value, str) else value)  # type: ignore[arg-type]
    if "says" in kw and isinstance(kw["says"], str):
        kw["says"] = (kw["says"],)
    return Case(cls, question, lang, **kw)  # type: ignore[arg-type]


def holders(data: RegistryData, role: str, *, place: str | None = None, org: str | None = None):
    """Names of the people holding a role (at a place / organisation), from the records."""
    return frozenset(
        p.name
        for p in data.people
        for r in p.roles
        if r.role == role
        and (place is None or r.municipality == place)
        and (org is None or r.organisation == org)
    )


# --- 2. inflection: every role against every form, three languages ---------------------------

DATA_CONTACT_FORMS = {
    "en": [
        "who is the data contact in {m}?",
        "who are the data contacts in {m}?",
        "{m}'s data contact?",
        "who is the data contact for {m} municipality",
    ],
    "nb": [
        "hvem er datakontakt i {m}?",
        "hvem er datakontakten i {m} kommune?",
        "hvem er datakontaktene i {m}?",
        "{m}s datakontakt",
    ],
    "nn": [
        "kven er datakontakten i {m}?",
        "kven er datakontakt for {m} kommune",
        "kven er datakontaktane i {m}?",
    ],
}


def data_contact_cases(data: RegistryData) -> Iterator[Case]:
    others = holders(data, "data_contact")
    for m in data.municipalities:
        wanted = holders(data, "data_contact", place=m.key)
        if not wanted:
            continue
        for lang, forms in DATA_CONTACT_FORMS.items():
            for form in forms:
                yield _case(
                    "inflection",
                    form.format(m=m.name),
                    lang,
                    contacts=wanted,
                    never=others - wanted,
                )


# The bodies whose leader and deputy are asked about, in the forms people write them: (English
# noun phrases, bokmål forms, nynorsk forms, genitives, compound stems).
BODY_FORMS = {
    "steering-group": {
        "en": ["the steering group"],
        "en_gen": ["the steering group's"],
        "nb": ["styringsgruppen", "styringsgruppa"],
        "nb_gen": ["styringsgruppens", "styringsgruppas"],
        "nn": ["styringsgruppa", "styringsgruppen"],
        "compound": ["styringsgruppe"],
    },
    "network-of-excellence": {
        "en": ["the network", "the Network of Excellence"],
        "en_gen": ["the network's"],
        "nb": ["nettverket", "bynettverket"],
        "nb_gen": ["nettverkets"],
        "nn": ["nettverket"],
        "compound": ["nettverks"],
    },
    "un-centre-trondheim": {
        "en": ["the UN centre", "the UN centre in Trondheim"],
        "en_gen": ["the UN centre's"],
        "nb": ["FN-senteret", "FN-senteret i Trondheim"],
        "nb_gen": ["FN-senterets"],
        "nn": ["FN-senteret"],
        "compound": [],
    },
    "u4ssc-programme": {
        "en": ["the implementation programme"],
        "en_gen": [],
        "nb": ["implementeringsprogrammet"],
        "nb_gen": [],
        "nn": ["implementeringsprogrammet"],
        "compound": [],
    },
}
HEAD_TEMPLATES = {
    "en": ["who is the leader of {b}?", "who leads {b}?", "who chairs {b}?"],
    "en_gen": ["who is {b} leader?", "{b} chair?"],
    "nb": ["hvem er leder for {b}?", "hvem leder {b}?", "hvem er lederen i {b}?"],
    "nb_gen": ["hvem er {b} leder?"],
    "nn": ["kven er leiar for {b}?", "kven er leiaren i {b}?", "kven leiar {b}?"],
    "compound": [("nb", "hvem er {b}leder?"), ("nn", "kven er {b}leiaren?")],
}
DEPUTY_TEMPLATES = {
    "en": ["who is the deputy leader of {b}?"],
    "en_gen": ["who is {b} deputy leader?"],
    "nb": ["hvem er nestleder i {b}?", "hvem er nestlederen i {b}?"],
    "nb_gen": ["hvem er {b} nestleder?"],
    "nn": ["kven er nestleiar i {b}?", "kven er nestleiaren i {b}?"],
    "compound": [("nb", "hvem er {b}nestleder?"), ("nn", "kven er {b}nestleiar?")],
}


def leader_roles(data: RegistryData, org: str, deputy: bool) -> frozenset[str]:
    """Names of those holding a leader (or deputy) role at a body, from the records."""
    return frozenset(
        p.name
        for p in data.people
        for r in p.roles
        if r.organisation == org and r.role.endswith("leader") and ("deputy" in r.role) == deputy
    )


def body_cases(data: RegistryData) -> Iterator[Case]:
    every_head = frozenset(
        p.name for p in data.people for r in p.roles if r.role.endswith("leader")
    )
    for org, forms in BODY_FORMS.items():
        for deputy, templates in ((False, HEAD_TEMPLATES), (True, DEPUTY_TEMPLATES)):
            wanted = leader_roles(data, org, deputy)
            if not wanted:
                continue
            for key, texts in templates.items():
                if key == "compound":
                    for lang, text in texts:  # type: ignore[misc]
                        for stem in forms["compound"]:
                            yield _case(
                                "inflection",
                                text.format(b=stem),
                                lang,
                                contacts=wanted,
                                never=every_head - wanted,
                            )
                    continue
                lang = key.split("_")[0]
                for text in texts:
                    for body in forms[key]:
                        yield _case(
                            "inflection",
                            text.format(b=body),
                            lang,
                            contacts=wanted,
                            never=every_head - wanted,
                        )


# --- 3. audiences and membership: every municipality against every audience ------------------

AUDIENCE_FORMS = {
    "batch1": {"en": "batch 1", "nb": "første pulje", "nn": "pulje 1"},
    "network": {"en": "the network", "nb": "nettverket", "nn": "nettverket"},
}
MEMBER_TEMPLATES = {
    "en": "is {m} in {a}?",
    "nb": "er {m} med i {a}?",
    # The bokmål sentence is nynorsk too; "ikkje" makes the question nynorsk only.
    "nn": "er {m} med i {a} eller ikkje?",
}
LIST_TEMPLATES = {
    "en": "which municipalities are in {a}?",
    "nb": "hvilke kommuner er med i {a}?",
    "nn": "kva kommunar er med i {a}?",
}


def membership_cases(data: RegistryData) -> Iterator[Case]:
    for audience in data.audiences:
        forms = AUDIENCE_FORMS.get(audience.key)
        if forms is None:
            continue
        members = {data.municipality_by_key[k].name for k in audience.municipalities}
        outside = {m.name for m in data.municipalities} - members
        for lang, form in forms.items():
            yield _case(
                "audience",
                LIST_TEMPLATES[lang].format(a=form),
                lang,
                says=tuple(sorted(members)),
            )
            for m in data.municipalities:
                verdict = YES[lang] if m.name in members else NO[lang]
                yield _case(
                    "audience", MEMBER_TEMPLATES[lang].format(m=m.name, a=form), lang, says=verdict
                )
        # Never the list of every municipality for an audience.
        yield _case("audience", LIST_TEMPLATES["en"].format(a=forms["en"]), "en", never=outside)


# --- 1. time: every registered day without its year, in every usual form ---------------------

MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip
MONTHS_NO = ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
             "oktober", "november", "desember"]  # fmt: skip


def date_cases(data: RegistryData) -> Iterator[Case]:
    days: dict[date, set[str]] = {}
    for ev in data.events:
        days.setdefault(ev.start_date, set()).add(ev.key)
    for day, keys in sorted(days.items()):
        month_en, month_no = MONTHS_EN[day.month - 1], MONTHS_NO[day.month - 1]
        forms = [
            ("en", f"what happens on {day.day} {month_en}?"),
            ("en", f"what's on {day.day}.{day.month}?"),
            ("nb", f"hva skjer {day.day}. {month_no}?"),
            ("nb", f"hva skjer {day.day}.{day.month}"),
            ("nn", f"kva skjer den {day.day}. {month_no}?"),
        ]
        for lang, text in forms:
            yield _case("time", text, lang, events=keys, says=str(day.year))
    months: dict[tuple[int, int], set[str]] = {}
    for ev in data.events:
        months.setdefault((ev.start_date.year, ev.start_date.month), set()).add(ev.key)
    for (year, month), keys in sorted(months.items()):
        yield _case("time", f"what happens in {MONTHS_EN[month - 1]}?", "en", events=keys,
                    says=str(year))  # fmt: skip
        yield _case("time", f"hva skjer i {MONTHS_NO[month - 1]}?", "nb", events=keys,
                    says=str(year))  # fmt: skip


TIME_ROWS = [
    _case("time", "what happens on the 21st?", "en",
          events={"county-meeting", "network-meeting", "batch2-info-meeting"}, says="2020"),
    _case("time", "hva skjer neste uke?", "nb", status="not_found",
          events={"steering-group-meeting"}, says="24. april 2020"),
    _case("time", "when is the next meeting?", "en", events={"steering-group-meeting"},
          says="24 April 2020"),
    _case("time", "når er neste møte?", "nb", events={"steering-group-meeting"}, says="2020"),
    _case("time", "kva er neste møte?", "nn", events={"steering-group-meeting"}, says="2020"),
    _case("time", "what's the next deadline?", "en", events={"profiles-back"}, says="2020"),
    _case("time", "when is the next meeting?", "en", now=EARLY,
          events={"county-meeting", "network-meeting", "batch2-info-meeting"}),
    _case("time", "has the data deadline passed?", "en", events={"data-deadline"},
          says=("yes", "2020")),
    _case("time", "has the data deadline passed?", "en", now=EARLY, events={"data-deadline"},
          says=("no", "2020")),
    _case("time", "er styringsgruppemøtet over?", "nb", events={"steering-group-meeting"},
          says=("ja", "2020")),
    _case("time", "har nettverksmøtet vore?", "nn", now=EARLY, events={"network-meeting"},
          says="nei"),
    _case("time", "er fristen for datainnsamling framleis framfor oss?", "nn", now=EARLY,
          events={"data-deadline"}, says="ja"),
    _case("time", "what happens on 21 February and 2 March?", "en",
          events={"county-meeting", "network-meeting", "batch2-info-meeting", "batch2-start"}),
    _case("time", "hva skjer i februar og mars?", "nb",
          events={"county-meeting", "network-meeting", "batch2-info-meeting", "batch2-start",
                  "profiles-back"}),
    _case("time", "did anything happen in October?", "en", events={"u4ssc-decision"},
          says=("yes", "2019")),
]  # fmt: skip


# --- 6. job titles ---------------------------------------------------------------------------

# Title words in every language -> the printed Norwegian title they mean.
TITLE_FORMS = {
    "kommunedirektør": {
        "en": ["chief executive"],
        "nb": ["kommunedirektør", "kommunedirektøren"],
        "nn": ["kommunedirektør", "rådmann"],
    },
    "rådmann": {"en": ["chief executive"], "nb": ["rådmann", "rådmannen"], "nn": ["rådmann"]},
    "kommunaldirektør": {
        "en": ["director"],
        "nb": ["kommunaldirektør"],
        "nn": ["kommunaldirektør"],
    },
    "samfunnsplanlegger": {"en": ["planner"], "nb": ["samfunnsplanlegger"], "nn": ["planleggar"]},
    "rådgiver": {"en": ["adviser", "advisor"], "nb": ["rådgiver"], "nn": ["rådgjevar"]},
    "ass. rådmann": {
        "en": ["deputy chief executive"],
        "nb": ["ass. rådmann"],
        "nn": ["assisterande rådmann"],
    },
    "framtidsnavigatør": {
        "en": ["future navigator"],
        "nb": ["framtidsnavigatør"],
        "nn": ["framtidsnavigatør"],
    },
}
TITLE_TEMPLATES = {
    "en": "who is the {t} in {m}?",
    "nb": "hvem er {t} i {m}?",
    "nn": "kven er {t} i {m}?",
}
NO_TITLE = {"en": "No job title", "nb": "Ingen stillingstittel", "nn": "Ingen stillingstittel"}
OWN_TITLE = {
    "en": "what is {p}'s title?",
    "nb": "hva er tittelen til {p}?",
    "nn": "kva stilling har {p}?",
}


def _printed_title(title: str | None, word: str) -> bool:
    """True when a printed role title holds the title word as its own part."""
    parts = [p.strip().lower() for chunk in (title or "").split(";") for p in chunk.split(",")]
    return word.lower() in parts


def title_cases(data: RegistryData) -> Iterator[Case]:
    for printed, forms in TITLE_FORMS.items():
        for m in data.municipalities:
            wanted = frozenset(
                p.name
                for p in data.people
                for r in p.roles
                if r.municipality == m.key and _printed_title(r.title, printed)
            )
            if not wanted:
                continue
            for lang, words in forms.items():
                if printed == "kommunedirektør" and lang == "nn" and "rådmann" in words:
                    words = [w for w in words if w != "rådmann"]  # a synonym, asked below
                for word in words:
                    # The reply names the title asked about (a list of everyone at the place
                    # would not).
                    yield _case(
                        "title",
                        TITLE_TEMPLATES[lang].format(t=word, m=m.name),
                        lang,
                        contacts=wanted,
                        says=word,
                    )
    for p in data.people:
        printed = [
            part.strip()
            for r in p.roles
            for chunk in (r.title or "").split(";")
            for part in chunk.split(",")
            if any(part.strip().lower().startswith(t) for t in (*TITLE_FORMS, "secretary general"))
        ]
        for lang, template in OWN_TITLE.items():
            says = (printed[0],) if printed else (NO_TITLE[lang],)
            yield _case("title", template.format(p=p.name), lang, contacts={p.name}, says=says)


TITLE_ROWS = [
    _case("title", "who is the Secretary General of OiER?", "en", contacts={"Kari Aina Eik"}),
    _case("title", "hvem er generalsekretær i OiER?", "nb", contacts={"Kari Aina Eik"}),
    _case("title", "kva er tittelen til Tom Rian?", "nn", contacts={"Tom Rian"}),
]


# --- 8. precision: places and people outside the registry -----------------------------------

UNREGISTERED = ["Kristiansand", "Larvik", "Bergen", "Tromsø", "Drammen", "Askøy", "Sandnes"]
PRECISION_TEMPLATES = {
    "en": ["who is the data contact in {m}?", "who is the chief executive of {m}?"],
    "nb": ["hvem er datakontakt i {m}?", "hvem er kontaktperson i {m} kommune?"],
    "nn": ["kven er datakontakten i {m}?", "kven er rådmann i {m}?"],
}


def precision_cases(data: RegistryData) -> Iterator[Case]:
    local = frozenset(p.name for p in data.people for r in p.roles if r.municipality is not None)
    for m in UNREGISTERED:
        for lang, templates in PRECISION_TEMPLATES.items():
            for template in templates:
                yield _case(
                    "precision",
                    template.format(m=m),
                    lang,
                    status={"clarify", "not_found"},
                    never=local,
                )
    for place in ("Oslo", "Bergen"):
        yield _case("precision", f"who represents {place} in the network?", "en",
                    status={"clarify", "not_found"}, never=local)  # fmt: skip


PRECISION_ROWS = [
    _case("precision", "who is Silja?", "en", status="clarify", contacts={"Silja Rønningsen"}),
    _case("precision", "hvem er Bente?", "nb", status="clarify",
          contacts={"Bente Kristin Malmo", "Bente Rudrud Herdlever", "Bente Glomseth Vikhagen"}),
    _case("precision", "kven er Per?", "nn", status="clarify",
          contacts={"Per Kristian Vareide"}),
    _case("precision", "who is Ola Nordmann?", "en", status={"not_found", "clarify"},
          never={"Ole Helge Haugen"}),
    _case("precision", "hvem er Kari Nordmann?", "nb", status={"not_found", "clarify"}),
]  # fmt: skip


# --- 4, 5, 7, 8, 9: written by hand ---------------------------------------------------------

MULTI_ROWS = [
    _case(
        "multi",
        "who represents Bærum and Asker in the network?",
        "en",
        contacts={"Bente Rudrud Herdlever", "Lars Bjerke"},
    ),
    _case("multi", "er Bodø og Rana med i nettverket?", "nb", says=("Bodø", "Rana", "nei")),
    _case(
        "multi",
        "when is the steering group meeting and where is it?",
        "en",
        events={"steering-group-meeting"},
        contacts=set(),
        says="Ålesund",
    ),
    _case(
        "multi", "who are the data contacts in Molde and Narvik?", "en", contacts={"Randi Myhre"}
    ),
    _case(
        "multi",
        "hvem leder nettverket og når møtes det?",
        "nb",
        now=EARLY,
        contacts={"Lars Bjerke"},
        events={"network-meeting"},
    ),
    _case(
        "multi",
        "kven er leiar og nestleiar i nettverket?",
        "nn",
        contacts={"Lars Bjerke", "Bente Rudrud Herdlever"},
    ),
    _case(
        "multi",
        "who is the data contact in Rana and who represents Rana in the network?",
        "en",
        contacts={"Gro Sæten"},
    ),
    _case(
        "multi",
        "når er datafristen og hvem er nasjonal datakontakt?",
        "nb",
        contacts={"Ole Helge Haugen"},
        events={"data-deadline"},
    ),
    _case(
        "multi",
        "who leads the UN centre and who is its business contact?",
        "en",
        contacts={"Kristian Mjøen", "Silja Rønningsen"},
    ),
    _case(
        "multi",
        "kven er datakontakt i Bodø og kven er datakontakt i Karmøy?",
        "nn",
        contacts={"Vesa Heikki Jäntti", "Bjørn Andersen"},
    ),
]
ORGANISATION_ROWS = [
    _case("organisation", "hvem er leder i Asker?", "nb", contacts={"Lars Bjerke"}),
    _case(
        "organisation",
        "who is the secretariat in Asker?",
        "en",
        status="not_found",
        never={"Geir Graff", "Lars Bjerke"},
    ),
    _case("organisation", "who is at the secretariat in Vienna?", "en", contacts={"Heike Warmuth"}),
    _case("organisation", "hvem jobber i sekretariatet i Wien?", "nb", contacts={"Heike Warmuth"}),
    _case(
        "organisation",
        "kven er kontakt ved sekretariatet i Wien?",
        "nn",
        contacts={"Heike Warmuth"},
    ),
    _case(
        "organisation", "who heads the UN centre in Trondheim?", "en", contacts={"Kristian Mjøen"}
    ),
    _case(
        "organisation",
        "hvem leder FN-senteret i Trondheim?",
        "nb",
        contacts={"Kristian Mjøen"},
        never={"Silja Rønningsen"},
    ),
    _case(
        "organisation",
        "kven er nasjonal kontakt for datainnsamlinga?",
        "nn",
        contacts={"Ole Helge Haugen"},
    ),
    _case(
        "organisation",
        "who is responsible for data collection nationally?",
        "en",
        contacts={"Ole Helge Haugen"},
    ),
    _case(
        "organisation", "who is the contact person at Innovasjon Norge?", "en", status="not_found"
    ),
    _case("organisation", "hvem er kontaktperson i KS?", "nb", status="not_found"),
]
GENERAL_ROWS = [
    _case(
        "general", "who do I contact about the programme?", "en", contacts={"Bente Kristin Malmo"}
    ),
    _case("general", "kven kan eg kontakte om programmet?", "nn", contacts={"Bente Kristin Malmo"}),
    _case("general", "who leads the programme?", "en", contacts={"Kari Aina Eik"}),
    _case("general", "who can I ask about the newsletter?", "en", contacts={"Bente Kristin Malmo"}),
    _case(
        "general", "hvem kan jeg spørre om nyhetsbrevet?", "nb", contacts={"Bente Kristin Malmo"}
    ),
    _case("general", "kven kan eg spørje om oppdateringa?", "nn", contacts={"Bente Kristin Malmo"}),
    _case("general", "who signed the newsletter?", "en", contacts={"Kari Aina Eik"}),
    _case("general", "hvem signerte oppdateringen?", "nb", contacts={"Kari Aina Eik"}),
    _case(
        "general",
        "who is the main contact for U4SSC in Norway?",
        "en",
        contacts={"Bente Kristin Malmo"},
    ),
]
UNREGISTERED_ROWS = [
    _case(
        "unregistered",
        "what time does the county meeting start?",
        "en",
        events={"county-meeting"},
        says=("time of day", "2020"),
    ),
    _case(
        "unregistered",
        "kva er lenkja til strøyminga av informasjonsmøtet?",
        "nn",
        events={"batch2-info-meeting"},
        says="lenk",
    ),
    _case(
        "unregistered",
        "what is Tom Rian's phone number?",
        "en",
        contacts={"Tom Rian"},
        says=("phone number", "tom.rian@alesund.kommune.no"),
    ),
    _case(
        "unregistered",
        "hva er telefonnummeret til Geir Graff?",
        "nb",
        contacts={"Geir Graff"},
        says=("telefonnummer", "geir.graff@asker.kommune.no"),
    ),
    _case(
        "unregistered",
        "kva er mobilnummeret til Rita Nerland?",
        "nn",
        contacts={"Rita Nerland"},
        says="rita.nerland@kristiansund.kommune.no",
    ),
    _case(
        "unregistered",
        "what is the postal address of the secretariat in Vienna?",
        "en",
        contacts={"Heike Warmuth"},
        says=("postal address", "oier.pro"),
    ),
    _case(
        "unregistered",
        "hva er postadressen til Ole Helge Haugen?",
        "nb",
        contacts={"Ole Helge Haugen"},
        says="postadresse",
    ),
]
EVENT_ROWS = [
    _case("event_facts", "what happens at the network meeting?", "en",
          events={"network-meeting"}, says="elects"),
    _case("event_facts", "hva skjer på nettverksmøtet?", "nb", events={"network-meeting"},
          says="velger"),
    _case("event_facts", "når blir leiaren for nettverket vald?", "nn",
          events={"network-meeting"}, says="2020"),
    _case("event_facts", "when is the network leader elected?", "en",
          events={"network-meeting"}, says="2020"),
    _case("event_facts", "is the information meeting streamed?", "en",
          events={"batch2-info-meeting"}, says="yes"),
    _case("event_facts", "strømmes informasjonsmøtet?", "nb", events={"batch2-info-meeting"},
          says="ja"),
    _case("event_facts", "which conference is the steering group meeting part of?", "en",
          events={"steering-group-meeting"}, says="The North West"),
    _case("event_facts", "what is the county meeting about?", "en", events={"county-meeting"},
          says="counties"),
    _case("event_facts", "er fylkesmøtet og nettverksmøtet samme dag?", "nb",
          events={"county-meeting", "network-meeting"}, says="ja"),
]  # fmt: skip


def all_cases() -> list[Case]:
    cases = [
        *data_contact_cases(DATA),
        *body_cases(DATA),
        *membership_cases(DATA),
        *date_cases(DATA),
        *title_cases(DATA),
        *precision_cases(DATA),
        *TIME_ROWS,
        *TITLE_ROWS,
        *PRECISION_ROWS,
        *MULTI_ROWS,
        *ORGANISATION_ROWS,
        *GENERAL_ROWS,
        *UNREGISTERED_ROWS,
        *EVENT_ROWS,
    ]
    return list({(c.question, c.now): c for c in cases}.values())


CASES = all_cases()


def check(case: Case, doc: dict) -> None:
    """The answer (as the `coordbot ask --json` object) against the case."""
    text = doc["text"]
    assert doc["status"] in case.status, text
    assert doc["lang"] in REPLY_LANGS[case.lang], text
    names = {c["name"] for c in doc["contacts"]}
    if case.contacts is not None:
        assert names == set(case.contacts), text
    assert not names & case.never, text
    if case.events is not None:
        assert {e["key"] for e in doc["events"]} == set(case.events), text
    for part in case.says:
        assert part.casefold() in text.casefold(), text


def test_table_size_languages_and_classes() -> None:
    assert len(CASES) >= 300
    for lang in ("en", "nb", "nn"):
        assert sum(c.lang == lang for c in CASES) >= 60, lang
    classes = {c.cls for c in CASES}
    assert classes == {
        "time", "inflection", "audience", "multi", "organisation", "title", "general",
        "unregistered", "event_facts", "precision",
    }  # fmt: skip
    for cls in classes:
        assert {c.lang for c in CASES if c.cls == cls} == {"en", "nb", "nn"}, cls


@pytest.fixture(scope="module")
def engines() -> dict[str, AnswerEngine]:
    return {}


@pytest.mark.db
@pytest.mark.db
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.cls}:{c.question[:50]}@{c.now[:4]}")
def test_case(case: Case, engines: dict[str, AnswerEngine]) -> None:
    engine = engines.get(case.now)
    if engine is None:
        clock = FixedClock(datetime.fromisoformat(case.now).replace(tzinfo=OSLO))
        engine = engines[case.now] = AnswerEngine.for_data(DATA, clock)
    check(case, engine.ask(case.question).to_json())


def _sample() -> list[Case]:
    """The first two cases of every class and language."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for case in CASES:
        key = (case.cls, case.lang)
        if seen.get(key, 0) < 2:
            seen[key] = seen.get(key, 0) + 1
            out.append(case)
    return out


SAMPLE = _sample()


@pytest.fixture
def memory_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """A database in memory: these tests are about the answers, not the database (that runs on
    SQLite and PostgreSQL elsewhere), and seeding a file per question would cost minutes."""
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", "sqlite://")


@pytest.mark.usefixtures("memory_database")
@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: f"cli:{c.cls}:{c.question[:40]}")
def test_case_through_the_command_line(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "--now", case.now, "--", case.question]) == 0
    check(case, json.loads(capsys.readouterr().out))


CONSOLE = Sender(None, None, "operator", console=True)


@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: f"chat:{c.cls}:{c.question[:40]}")
def test_case_through_the_chat(case: Case, memory_database: None, clock: FixedClock) -> None:
    services = build_services(load_config(), clock)
    try:
        _chat_case(case, services)
    finally:
        services.close()


def _chat_case(case: Case, services: Services) -> None:
    services.clock.set(datetime.fromisoformat(case.now).replace(tzinfo=OSLO))  # type: ignore[attr-defined]
    reply = ChatService(services).question(CONSOLE, case.question)
    text = reply.plain_text()
    assert reply.kind in case.status, text
    for name in case.contacts or ():
        assert name in text, text
    for name in case.never:
        assert name not in text, text
    for part in case.says:
        assert part.casefold() in text.casefold(), text
