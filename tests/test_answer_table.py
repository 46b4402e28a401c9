"""The answer engine against a table of questions in English and Norwegian, over the seed
registry (bot/data/registry.toml) with the clock at 15 January 2020, 09:00 in Oslo unless a row
says otherwise.

Each row: the question, the expected status and reply language, the exact set of contact names
and event keys in the answer, and a text the suggestions (clarify) or the reply must contain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.answering.engine import AnswerEngine
from bot.clock import FixedClock
from bot.registry.data import load_registry_file
from bot.resources import SEED_FILE

OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True)
class Row:
    question: str
    status: str
    lang: str
    contacts: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    suggests: str | None = None  # one suggestion contains this (clarify)
    says: str | None = None  # the reply text contains this
    now: str = "2020-01-15T09:00"


DATA_CONTACTS = (
    "Geir Graff",
    "Christian Holmås Haave",
    "Vesa Heikki Jäntti",
    "Jo Inge Wang Hageland",
    "Bjørn Andersen",
    "Rita Nerland",
    "Randi Myhre",
    "Gro Sæten",
    "Eli Sirnes Willumsen",
    "Silja Rønningsen",
    "Tom Rian",
)
BENTES = ("Bente Kristin Malmo", "Bente Rudrud Herdlever", "Bente Glomseth Vikhagen")
FEB21 = ("batch2-info-meeting", "county-meeting", "network-meeting")

TABLE = [
    # --- who holds a role at a place -------------------------------------------------------
    Row("who is Bodø's data contact?", "answer", "en", ("Vesa Heikki Jäntti",),
        says="vesa.heikki.jantti@bodo.kommune.no"),
    Row("Who is Bodo's data contact?", "answer", "en", ("Vesa Heikki Jäntti",)),
    Row("hvem er datakontakt i Bærum?", "answer", "nb", ("Christian Holmås Haave",),
        says="Christian.haave@baerum.kommune.no"),
    Row("who is the data contact for Baerum", "answer", "en", ("Christian Holmås Haave",)),
    Row("Aalesund data contact", "answer", "en", ("Tom Rian",)),
    Row("hvem er datakontakten i Ålesund kommune?", "answer", "nb", ("Tom Rian",)),
    Row("who is the data contact in Trondhiem?", "answer", "en", ("Silja Rønningsen",)),
    Row("Bodøs datakontakt", "answer", "nb", ("Vesa Heikki Jäntti",)),
    Row("who is the data contact in Mo i Rana?", "answer", "en", ("Gro Sæten",)),
    Row("who is the data contact in Kristiansund?", "answer", "en", ("Rita Nerland",)),
    Row("hvem er kontaktperson for datainnsamling i Molde?", "answer", "nb", ("Randi Myhre",),
        says="ser ugyldig ut"),
    Row("who's the data contact for Karmøy", "answer", "en", ("Bjørn Andersen",),
        says="looks invalid"),
    Row("who represents Stavanger in the network?", "answer", "en", ("Per Kristian Vareide",)),
    Row("who is the data contact?", "answer", "en", DATA_CONTACTS),
    Row("who is the data contact in Baerum and Asker?", "answer", "en",
        ("Christian Holmås Haave", "Geir Graff")),
    Row("hvem har ansvar for datainnsamling i Stavanger?", "answer", "nb",
        ("Eli Sirnes Willumsen",)),
    Row("kontaktperson i Asker", "answer", "nb", ("Geir Graff", "Lars Bjerke")),
    # --- roles of the programme and its bodies -------------------------------------------
    Row("who is the national data contact?", "answer", "en", ("Ole Helge Haugen",)),
    Row("who is the contact person?", "answer", "en", ("Bente Kristin Malmo",)),
    Row("who leads the network?", "answer", "en", ("Lars Bjerke",)),
    Row("hvem er nestleder i nettverket?", "answer", "nb", ("Bente Rudrud Herdlever",)),
    Row("hvem er leder for styringsgruppen?", "answer", "nb", ("Kari Aina Eik",)),
    Row("who is the project manager?", "answer", "en", ("Kristian Mjøen",)),
    Row("hvem er prosjektleder?", "answer", "nb", ("Kristian Mjøen",)),
    Row("who leads the programme?", "answer", "en", ("Kari Aina Eik",)),
    Row("who is the leader?", "answer", "en", ("Kari Aina Eik", "Kristian Mjøen", "Lars Bjerke")),
    Row("hvem er leder for FN-senteret?", "answer", "nb", ("Kristian Mjøen",)),
    Row("how do I contact the secretariat?", "answer", "en", ("Heike Warmuth",),
        says="Heike.Warmuth@oier.pro"),
    Row("hvem er sekretariatet?", "answer", "nb", ("Heike Warmuth",)),
    Row("who handles simulation?", "answer", "en", ("Joel Mills", "Bjørn Dimmen")),
    Row("hvem er med i styringsgruppen?", "answer", "nb",
        ("Kari Aina Eik", "Kristian Mjøen", "Lars Bjerke", "Bente Rudrud Herdlever")),
    # --- a role nobody holds: not_found, naming who can help ------------------------------
    Row("who is Narvik's data contact?", "not_found", "en", ("Ole Helge Haugen",),
        says="Narvik has no registered"),
    Row("hvem er datakontakt i Narvik?", "not_found", "nb", ("Ole Helge Haugen",),
        says="Narvik har ingen"),
    Row("who is the county contact?", "not_found", "en", ("Bente Kristin Malmo",)),
    # --- who a named person is ------------------------------------------------------------
    Row("who is Kristian Mjøen?", "answer", "en", ("Kristian Mjøen",),
        says="project manager"),
    # A bare first name is never taken for one person (issue 10): a question back, naming
    # the registered people with it in suggestions and contacts.
    Row("hvem er Silja?", "clarify", "nb", ("Silja Rønningsen",), suggests="Silja Rønningsen"),
    Row("who is Christian Holmås Haave", "answer", "en", ("Christian Holmås Haave",)),
    Row("who is Vesa Jantti?", "answer", "en", ("Vesa Heikki Jäntti",)),
    Row("who is Kristan Mjøen", "answer", "en", ("Kristian Mjøen",)),
    Row("who is Silja Rønnigsen", "answer", "en", ("Silja Rønningsen",)),
    Row("who is Joel Mills?", "answer", "en", ("Joel Mills",), says="bjorn@osc.no"),
    Row("Who is Tom?", "clarify", "en", ("Tom Rian",), suggests="Tom Rian"),
    Row("vesa.heikki.jantti@bodo.kommune.no", "answer", "en", ("Vesa Heikki Jäntti",)),
    # --- contact details ------------------------------------------------------------------
    Row("what is Tom Rian's email?", "answer", "en", ("Tom Rian",),
        says="tom.rian@alesund.kommune.no"),
    Row("e-post til Gro Sæten", "answer", "nb", ("Gro Sæten",), says="gro.saeten@rana"),
    Row("kontaktinfo til Kari Aina Eik", "answer", "nb", ("Kari Aina Eik",)),
    Row("what is the email of the project manager?", "answer", "en", ("Kristian Mjøen",)),
    # --- ambiguous people: a question back ------------------------------------------------
    Row("who is Bente?", "clarify", "en", BENTES, suggests="Bente Glomseth Vikhagen"),
    Row("hvem er Bjørn?", "clarify", "nb", ("Bjørn Andersen", "Bjørn Dimmen"),
        suggests="Bjørn Dimmen"),
    Row("who is Kristian?", "clarify", "en", ("Kristian Mjøen", "Per Kristian Vareide"),
        suggests="Per Kristian Vareide"),
    # --- near misses: never a confident answer about someone else --------------------------
    Row("who is Kristiansand's data contact?", "clarify", "en", suggests="Kristiansund"),
    Row("hvem er datakontakt i Kristiansand?", "clarify", "nb", suggests="Kristiansund"),
    Row("who is Larvik's data contact?", "clarify", "en", suggests="Narvik"),
    Row("who is Bergen's data contact?", "not_found", "en", says="Bergen is not in the programme"),
    Row("hvem er datakontakt i Bergen?", "not_found", "nb", says="Bergen er ikke med"),
    Row("Kristiansand", "clarify", "en", suggests="Kristiansund"),
    Row("who is the data contact in Kristiansnd?", "clarify", "en", suggests="Kristiansund"),
    Row("Who is the data contact in Oslo?", "not_found", "en", says="Oslo is not in the programme"),
    Row("who is Ola Nordmann?", "not_found", "en", says="Nobody called Ola Nordmann"),
    Row("who is Ole Nordmann?", "clarify", "en", suggests="Ole Helge Haugen"),
    Row("who is Silje?", "clarify", "en", suggests="Silja Rønningsen"),
    Row("who is the data contact in Xyzville?", "not_found", "en", says="Xyzville"),
    # --- when an event or deadline is -----------------------------------------------------
    Row("when is the steering group meeting?", "answer", "en", events=("steering-group-meeting",),
        says="24 April 2020"),
    Row("når er styringsgruppemøtet?", "answer", "nb", events=("steering-group-meeting",),
        says="24. april 2020"),
    Row("when is the data deadline?", "answer", "en", events=("data-deadline",)),
    Row("når er fristen for datainnsamling?", "answer", "nb", events=("data-deadline",),
        says="31. januar 2020"),
    Row("when does batch two start?", "answer", "en", events=("batch2-start",)),
    Row("når starter pulje to?", "answer", "nb", events=("batch2-start",)),
    Row("når er fylkesmøtet?", "answer", "nb", events=("county-meeting",)),
    Row("when is the network meeting?", "answer", "en", events=("network-meeting",)),
    Row("when do we get the profiles back?", "answer", "en", events=("profiles-back",)),
    Row("når får kommunene profilene tilbake?", "answer", "nb", events=("profiles-back",)),
    Row("when was the Stavanger declaration?", "answer", "en", events=("stavanger-declaration",)),
    Row("The North West", "answer", "en", events=("steering-group-meeting",)),
    Row("when is the meeting?", "answer", "en", events=(*FEB21, "steering-group-meeting")),
    Row("når er fristen?", "answer", "nb", events=("data-deadline", "profiles-back")),
    Row("when is the christmas party?", "not_found", "en", events=("data-deadline",),
        says="no event"),
    # --- what happens on a date ------------------------------------------------------------
    Row("what happens on 21 February?", "answer", "en", events=FEB21),
    Row("hva skjer 21. februar?", "answer", "nb", events=FEB21, says="21. februar 2020"),
    Row("what is on 2020-02-21", "answer", "en", events=FEB21),
    Row("hva skjer 24/4?", "answer", "nb", events=("steering-group-meeting",)),
    Row("what happens in March?", "answer", "en", events=("batch2-start", "profiles-back")),
    Row("what happens tomorrow?", "not_found", "en", events=("data-deadline",),
        says="16 January 2020"),
    Row("what happens tomorrow?", "answer", "en", events=FEB21, now="2020-02-20T12:00"),
    Row("hva skjer i morgen?", "answer", "nb", events=FEB21, now="2020-02-20T12:00"),
    # --- what is next (by the injected clock) ----------------------------------------------
    Row("what is next?", "answer", "en", events=("data-deadline",)),
    Row("hva er neste frist?", "answer", "nb", events=("data-deadline",)),
    Row("neste møte?", "answer", "nb", events=FEB21),
    Row("what is next for the network?", "answer", "en", events=("network-meeting",)),
    Row("what's the next meeting for batch two?", "answer", "en", events=("batch2-info-meeting",)),
    Row("what is next?", "answer", "en", events=FEB21, now="2020-02-01T09:00"),
    Row("hva skjer nå?", "answer", "nb", events=("steering-group-meeting",),
        now="2020-04-01T09:00"),
    Row("what is next?", "answer", "en", events=("steering-group-meeting",),
        says="24 April 2020", now="2020-05-01T09:00"),
    # --- whom to contact about an event ----------------------------------------------------
    Row("who should I contact about the steering group meeting?", "answer", "en",
        ("Kari Aina Eik", "Kristian Mjøen"), ("steering-group-meeting",)),
    Row("hvem kontakter jeg om fylkesmøtet?", "answer", "nb", ("Bente Kristin Malmo",),
        ("county-meeting",)),
    # --- places and bodies ----------------------------------------------------------------
    Row("Rana", "answer", "en", ("Gro Sæten",)),
    Row("which municipalities are in the programme?", "answer", "en", says="Kristiansund"),
    Row("hvilke kommuner er med i nettverket?", "answer", "nb", says="Ålesund"),
    # --- nonsense and bad input: not_found with a hint ------------------------------------
    Row("asdkjh qwe", "not_found", "en", says="who holds a role"),
    Row("'; DROP TABLE person; --", "not_found", "en"),
    Row("who do I ask about KPIs?", "not_found", "en"),
    Row("hei", "not_found", "nb", says="Jeg kan svare"),
]  # fmt: skip


@pytest.fixture(scope="module")
def seed_data():
    return load_registry_file(SEED_FILE)


def test_table_is_big_and_bilingual() -> None:
    assert len(TABLE) >= 60
    assert sum(r.lang == "nb" for r in TABLE) >= 25
    assert sum(r.lang == "en" for r in TABLE) >= 25


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.question[:40]}@{r.now[5:10]}")
def test_question(row: Row, seed_data) -> None:
    clock = FixedClock(datetime.fromisoformat(row.now).replace(tzinfo=OSLO))
    answer = AnswerEngine.for_data(seed_data, clock).ask(row.question)
    assert (answer.status, answer.lang) == (row.status, row.lang), answer.text
    assert {c.name for c in answer.contacts} == set(row.contacts), answer.text
    assert {e.key for e in answer.events} == set(row.events), answer.text
    if row.suggests:
        assert any(row.suggests in s for s in answer.suggestions), answer.suggestions
    if row.says:
        assert row.says in answer.text
    if answer.status == "clarify":
        assert 1 <= len(answer.suggestions) <= 5
        assert all(len(s) <= 60 for s in answer.suggestions)
    assert answer.text.strip()
