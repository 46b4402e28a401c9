"""Every person's language: in the seed, the CSV round trip (a bad value refused), and the
pages the links in their mail open (unsubscribe, in en, nb or nn)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.service import ChatService, Sender
from bot.cli import main
from bot.services import Services
from bot.subscriptions import Subscriptions
from bot.web import CalendarServer

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def test_seed_people_have_a_language(services: Services) -> None:
    people = {p.key: p.language for p in services.registry.snapshot().people}
    assert people["geir-graff"] == "nb" and people["heike-warmuth"] == "en"
    assert set(people.values()) <= {"en", "nb", "nn"}


def test_language_survives_the_csv_round_trip_and_bad_values_are_refused(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    path = tmp_path / "registry.csv"
    assert main(["registry", "export", "-o", str(path)]) == 0
    text = path.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert "language" in header

    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["record"] == "person" and row["key"] == "gro-saeten":
            row["language"] = "nn"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    assert main(["registry", "import", str(path)]) == 0
    assert services.registry.snapshot().person_by_key["gro-saeten"].language == "nn"

    for row in rows:
        if row["record"] == "person" and row["key"] == "gro-saeten":
            row["language"] = "de"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    capsys.readouterr()
    assert main(["registry", "import", str(path)]) == 2
    assert "'de' is not one of en, nb, nn" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("lang", "asks", "button"),
    [
        ("en", "Stop e-mails to", "Unsubscribe"),
        ("nb", "Vil du ikke lenger få e-post til", "Meld av"),
        ("nn", "Vil du ikkje lenger få e-post til", "Meld av"),
    ],
)
async def test_unsubscribe_page_is_in_the_links_language(
    services: Services, lang: str, asks: str, button: str
) -> None:
    subscriptions = Subscriptions(services.db, services.clock, services.config)
    url = subscriptions.unsubscribe_url("gro-saeten", "network", "email", lang)
    path = url.removeprefix("https://kalender.example.org")
    async with TestClient(TestServer(CalendarServer(services).application())) as client:
        page = await client.get(path)
        text = await page.text()
        assert page.status == 200 and asks in text and f">{button}</button>" in text
        assert f"<html lang='{lang}'>" in text
        done = await client.post(path)
        assert done.status == 200
    assert "gro-saeten" in subscriptions.opted_out("network", "email")


async def test_bokmaal_is_the_default_and_a_question_keeps_its_own_language(
    services: Services,
) -> None:
    """Unset, bot.default_language is bokmål: a page whose link names no language and the
    commands for a chat user whose client sends none are in bokmål, while a question is still
    answered in the language it is written in."""
    assert services.config.bot.default_language == "nb"
    subscriptions = Subscriptions(services.db, services.clock, services.config)
    url = subscriptions.unsubscribe_url("gro-saeten", "network", "email", "en")
    path = re.sub(r"([?&])lang=en&?", r"\1", url.removeprefix("https://kalender.example.org"))
    assert "lang=" not in path
    async with TestClient(TestServer(CalendarServer(services).application())) as client:
        page = await client.get(path)
        text = await page.text()
    assert page.status == 200 and "<html lang='nb'>" in text and ">Meld av</button>" in text

    chat = ChatService(services)
    nobody_said = Sender(4242, 4242, "Kari")  # no language_code
    assert chat.message(nobody_said, "/help").lang == "nb"
    english = chat.message(nobody_said, "who is the data contact in Bodø?")
    norwegian = chat.message(nobody_said, "hvem er datakontakt i Bodø?")
    assert (english.lang, norwegian.lang) == ("en", "nb")
    assert "Vesa" in english.plain_text() and "Vesa" in norwegian.plain_text()
