"""Languages: plural forms, Norwegian dates and lists, and nynorsk as a full reply language
(detected from the question, `coordbot ask --json`, the chat service, /lang nn)."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import i18n
from bot.answering.engine import AnswerEngine
from bot.answering.text import detect_language, prepare
from bot.chat import ChatService
from bot.chat.service import Sender
from bot.cli import main
from bot.services import Services
from schedules.rules import parse_lead

PLURALS = {
    "en": {0: "0 messages", 1: "1 message", 2: "2 messages", 5: "5 messages"},
    "nb": {0: "0 meldinger", 1: "1 melding", 2: "2 meldinger", 5: "5 meldinger"},
    "nn": {0: "0 meldingar", 1: "1 melding", 2: "2 meldingar", 5: "5 meldingar"},
}


@pytest.mark.db
@pytest.mark.db
@pytest.mark.db
@pytest.mark.db
@pytest.mark.db
@pytest.mark.db
@pytest.mark.parametrize("lang", ["en", "nb", "nn"])
@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_message_counts_take_the_right_plural_form(lang: str, n: int) -> None:
    assert i18n.ngettext(lang, "{n} message", "{n} messages", n) == PLURALS[lang][n]


LEADS = {
    ("1h", "en"): "1 hour before",
    ("2h", "en"): "2 hours before",
    ("1m", "en"): "1 minute before",
    ("5m", "en"): "5 minutes before",
    ("90m", "en"): "90 minutes before",
    ("1h", "nb"): "1 time før",
    ("2h", "nb"): "2 timer før",
    ("1m", "nb"): "1 minutt før",
    ("5m", "nb"): "5 minutter før",
    ("1h", "nn"): "1 time før",
    ("5h", "nn"): "5 timar før",
    ("1m", "nn"): "1 minutt før",
    ("2m", "nn"): "2 minutt før",
    ("0d", "nn"): "same dag",
    ("1d", "nn"): "dagen før",
    ("2d", "nn"): "2 dagar før",
    ("5d", "nb"): "5 dager før",
    ("14d@16:00", "en"): "14 days before 16:00",
}


@pytest.mark.parametrize(("lead", "lang"), sorted(LEADS))
def test_reminder_lead_times_in_words(lead: str, lang: str) -> None:
    assert parse_lead(lead).label(lang) == LEADS[(lead, lang)]


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_no_count_is_written_with_a_bracketed_plural(n: int) -> None:
    for lang in i18n.LANGUAGES:
        for singular, plural in (
            (
                "{n} member not reachable or unsubscribed.",
                "{n} members not reachable or unsubscribed.",
            ),
            ("{n} earlier item: /events all", "{n} earlier items: /events all"),
            ("Please wait {n} second and ask again.", "Please wait {n} seconds and ask again."),
        ):
            text = i18n.ngettext(lang, singular, plural, n)
            assert text.startswith(str(n)) or f" {n} " in text
            assert "(s)" not in text and "(er)" not in text and "(mer)" not in text
    assert i18n.ngettext("nb", "{n} member not reachable or unsubscribed.", "x", 1).startswith(
        "1 medlem kan"
    )
    assert i18n.ngettext("nn", "{n} earlier item: /events all", "x", 2).startswith(
        "2 tidlegare punkt"
    )


def test_dates_in_each_language() -> None:
    day = date(2020, 2, 21)
    assert i18n.format_date(day, "nb") == "21. februar 2020"
    assert i18n.format_date(day, "nn") == "21. februar 2020"
    assert i18n.format_date(day, "en") == "21 February 2020"
    assert i18n.format_date(day, "nb", "full") == "fredag 21. februar 2020"
    moment = datetime(2020, 2, 21, 10, 0, tzinfo=ZoneInfo("Europe/Oslo"))
    assert i18n.format_datetime(moment, "nb", "d. MMMM y HH:mm") == "21. februar 2020 10:00"


def test_lists_in_each_language() -> None:
    places = ["Asker", "Bærum", "Rana"]
    assert i18n.format_list(places, "nb") == "Asker, Bærum og Rana"
    assert i18n.format_list(places, "nn") == "Asker, Bærum og Rana"
    assert i18n.format_list(places, "en") == "Asker, Bærum, and Rana"
    assert i18n.format_list(places, "nb", style="or") == "Asker, Bærum eller Rana"
    assert i18n.format_list(["Asker"], "nn") == "Asker"
    assert i18n.format_list([], "en") == ""


@pytest.mark.parametrize(
    ("text", "lang"),
    [("nn", "nn"), ("nynorsk", "nn"), ("nb", "nb"), ("no", "nb"), ("bokmål", "nb"),
     ("english", "en"), ("klingon", None)],
)  # fmt: skip
def test_lang_command_words(text: str, lang: str | None) -> None:
    assert i18n.parse_language(text) == lang


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("kven er leiar for styringsgruppa?", "nn"),
        ("kva skjer 21. februar?", "nn"),
        ("kven er datakontakt i Bodø?", "nn"),
        ("korleis kontaktar eg Bodø kommune?", "nn"),
        ("hvem er datakontakt i Bodø?", "nb"),
        ("hva skjer 21. februar?", "nb"),
        ("hvem er leder for styringsgruppen?", "nb"),
        ("who is Bodø's data contact?", "en"),
        ("what happens on 21 February?", "en"),
    ],
)
def test_question_language_is_detected(question: str, lang: str) -> None:
    assert detect_language(prepare(question), ()) == lang


def ask_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["ask", "--json", "--now", "2020-01-20T10:00", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.db
def test_nynorsk_questions_are_answered_in_nynorsk(capsys: pytest.CaptureFixture[str]) -> None:
    doc = ask_json(capsys, "--", "kven er leiar for styringsgruppa?")
    assert (doc["status"], doc["lang"]) == ("answer", "nn")
    assert [c["name"] for c in doc["contacts"]] == ["Kari Aina Eik"]

    doc = ask_json(capsys, "--", "kva skjer 21. februar?")
    assert (doc["status"], doc["lang"]) == ("answer", "nn")
    assert doc["text"].startswith("21. februar 2020:")
    assert len(doc["events"]) >= 2

    doc = ask_json(capsys, "--", "kven er datakontakt i Bodø?")
    assert (doc["status"], doc["lang"]) == ("answer", "nn")
    assert doc["contacts"][0]["email"] == "vesa.heikki.jantti@bodo.kommune.no"

    doc = ask_json(capsys, "--", "kven er datakontakt i Bergen?")
    assert (doc["status"], doc["lang"]) == ("not_found", "nn")
    assert doc["text"].startswith("Bergen er ikkje med i programmet. Registrerte kommunar: ")

    doc = ask_json(capsys, "--", "kven er datakontakt i Kristiansand?")
    assert (doc["status"], doc["lang"]) == ("clarify", "nn")
    assert doc["text"] == "Kristiansand er ikkje med i programmet. Meinte du Kristiansund?"


@pytest.mark.db
def test_lang_nn_forces_nynorsk(capsys: pytest.CaptureFixture[str]) -> None:
    doc = ask_json(capsys, "--lang", "nn", "--", "hello")
    assert doc["lang"] == "nn"
    assert doc["text"].startswith("Hei! Eg kan svare på kven som har ei rolle")
    doc = ask_json(capsys, "--lang", "nb", "--", "kven er datakontakt i Bodø?")
    assert doc["lang"] == "nb"


@pytest.mark.db
def test_an_engine_defaulting_to_nynorsk(services: Services) -> None:
    engine = AnswerEngine(services.registry, services.clock, default_lang="nn")
    answer = engine.ask("Bodø")
    assert answer.lang == "nn"
    assert answer.text.startswith("Bodø er med i programmet. Kontaktar:")


@pytest.mark.db
def test_the_chat_answers_nynorsk_in_nynorsk(services: Services) -> None:
    chat = ChatService(services)
    sender = Sender(user_id=42, chat_id=42, display_name="Ola", language_code="nn")
    reply = chat.message(sender, "kven er datakontakt i Bodø?")
    assert reply.lang == "nn"
    assert "Vesa Heikki Jäntti" in reply.plain_text()
    help_text = chat.message(sender, "/help").plain_text()
    assert help_text.startswith("Spør meg kven du skal kontakte og kva som skjer når")
    assert "/next - kva skjer no" in help_text
    assert chat.message(sender, "/next").lang == "nn"
    assert chat.message(sender, "/who datakontakt Bodø").lang == "nn"
    menu = dict(chat.menu("nn"))
    assert menu["lang"] == "svar på engelsk, bokmål eller nynorsk"


@pytest.mark.db
def test_lang_nn_in_chat_sticks(services: Services) -> None:
    chat = ChatService(services)
    sender = Sender(user_id=43, chat_id=43, display_name="Kari", language_code="en")
    assert chat.message(sender, "/lang nn").plain_text() == "Eg svarar på nynorsk."
    reply = chat.message(sender, "who is Bodø's data contact?")
    assert reply.lang == "nn"
    assert reply.plain_text().startswith("Lokal kontaktperson for datainnsamling i Bodø er")
    usage = chat.message(sender, "/lang").plain_text()
    assert (
        usage
        == "Vel svarspråk: /lang en (engelsk), /lang nb (bokmål) eller /lang nn (nynorsk). No: nn."
    )


@pytest.mark.db
def test_refusals_of_done_are_in_the_users_language(services: Services) -> None:
    chat = ChatService(services)
    nynorsk = Sender(user_id=44, chat_id=44, display_name="Per", language_code="nn")
    reply = chat.message(nynorsk, "/done data-deadline Bergen").plain_text()
    assert reply == "ingen kommune som heiter «Bergen»"
    english = Sender(user_id=45, chat_id=45, display_name="Ann", language_code="en")
    reply = chat.message(english, "/done network-meeting Asker").plain_text()
    assert reply == "network-meeting is not a deadline"
