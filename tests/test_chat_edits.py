"""/event and /email from chat: through the chat service, the real Telegram stack against the
Bot API stand-in, and the console. Coordinators edit; everyone else is refused and nothing
changes."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from datetime import date

import icalendar
import pytest

from bot.calendar.api import feed_bytes
from bot.calendar.identity import event_uid
from bot.chat import ChatService, Sender
from bot.clock import FixedClock
from bot.config import load_config
from bot.registry.data import RegistryData
from bot.registry.edits import recent_edits
from bot.registry.tables import MetaEntry
from bot.services import Services, build_services
from handlers.console import ConsoleChat
from tests.botapi_standin import BotApiStandIn, callback_update, message_update
from tests.chat_fakes import COORDINATOR, USER, exchange, running_telegram, texts


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

pytest_plugins = ("tests.chat_fixtures",)

KARI = Sender(user_id=COORDINATOR, chat_id=COORDINATOR, display_name="Kari Koordinator")
OLA = Sender(user_id=USER, chat_id=USER, display_name="Ola")
KARI_NB = Sender(COORDINATOR, COORDINATOR, "Kari Koordinator", language_code="nb")


@pytest.fixture
def coord_services(monkeypatch: pytest.MonkeyPatch, clock: FixedClock) -> Iterator[Services]:
    """Services whose config names COORDINATOR as a coordinator."""
    monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
    services = build_services(load_config(), clock)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def chat(coord_services: Services) -> ChatService:
    """The chat service every transport uses."""
    return ChatService(coord_services)


class Unchanged:
    """Remembers the registry and its write counter, to show later that nothing was written."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.data = services.registry.snapshot()
        self.generation = self._generation()
        self.edits = recent_edits(services.db)

    def _generation(self) -> str | None:
        with self.services.db.session() as session:
            entry = session.get(MetaEntry, "registry_generation")
            return entry.value if entry else None

    def check(self) -> None:
        """Assert that the registry was not written since."""
        self.services.registry.invalidate()
        assert self.services.registry.snapshot() == self.data
        assert self._generation() == self.generation
        assert recent_edits(self.services.db) == self.edits


def programme_start(services: Services, key: str) -> object:
    """DTSTART of `key` in the programme feed."""
    calendar = icalendar.Calendar.from_ical(feed_bytes(services, "programme"))
    [found] = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == event_uid(key)]
    return found.decoded("DTSTART")


def registry(services: Services) -> RegistryData:
    """The registry as stored now."""
    services.registry.invalidate()
    return services.registry.snapshot()


# --- through the chat service ---------------------------------------------------------------


def test_a_coordinator_moves_an_event_and_sees_before_and_after(
    chat: ChatService, coord_services: Services
) -> None:
    reply = chat.message(KARI, "/event county-meeting date 2020-02-28")
    assert reply.kind == "edited"
    assert reply.plain_text().splitlines() == [
        "Moved: Joint meeting for counties on U4SSC (county-meeting)",
        "  when: 2020-02-21 → 2020-02-28",
        "  SEQUENCE 0 → 1",
        "",
        "Calendar feeds show the change now, and reminders follow it automatically.",
        "Send updated invites to those who have the event in their calendar with:",
        "  coordbot ics invite county-meeting --audience counties --send",
    ]
    moved = registry(coord_services).event_by_key["county-meeting"]
    assert (moved.start, moved.sequence) == (date(2020, 2, 28), 1)
    assert programme_start(coord_services, "county-meeting") == date(2020, 2, 28)
    [record] = recent_edits(coord_services.db)
    assert (record.actor, record.actor_name) == ("telegram:1000", "Kari Koordinator")


def test_an_event_named_by_its_title_is_edited_in_norwegian(
    chat: ChatService, coord_services: Services
) -> None:
    reply = chat.message(KARI_NB, "/event styringsgruppemøtet avlys")
    lines = reply.plain_text().splitlines()
    assert lines[0] == (
        "Avlyst: Første ordinære styringsgruppemøte i Bærekraftsløftet, under The North West "
        "(steering-group-meeting)"
    )
    assert "  status: planlagt → avlyst" in lines
    assert (
        "  coordbot ics invite steering-group-meeting --audience steering-group --cancel --send"
        in lines
    )
    ev = registry(coord_services).event_by_key["steering-group-meeting"]
    assert ev.cancelled and ev.sequence == 1

    again = chat.message(KARI_NB, "/event steering-group-meeting avlys")
    assert again.kind == "unchanged"
    assert again.plain_text().startswith("Ingenting ble endret:")
    restored = chat.message(KARI_NB, "/event steering-group-meeting gjenopprett")
    assert restored.plain_text().startswith("Gjenopprettet:")
    assert registry(coord_services).event_by_key["steering-group-meeting"].sequence == 2


@pytest.mark.parametrize(
    "command",
    [
        "/event county-meeting date 2020-02-28",
        "/event county-meeting cancel",
        "/event steering group meeting place Bergen",
        "/event",
        "/email vesa-heikki-jantti someone@example.org",
        "/email Vesa Heikki Jäntti -",
        "/contact Bodø data_contact Heike Warmuth",
        "/contact Bodø data_contact",
        "/person add Kari Nordmann kari@bodo.kommune.no",
    ],
)
def test_others_are_refused_and_nothing_changes(
    chat: ChatService, coord_services: Services, command: str
) -> None:
    unchanged = Unchanged(coord_services)
    reply = chat.message(OLA, command)
    name = command.split()[0]
    assert reply.kind == "refused"
    assert reply.plain_text() == f"{name} is for coordinators only. Nothing was changed."
    unchanged.check()


def test_an_ambiguous_event_is_asked_back_and_a_pick_applies_with_the_pickers_rights(
    chat: ChatService, coord_services: Services
) -> None:
    asked = chat.message(KARI, "/event the meeting in Oslo place Bergen")
    assert asked.kind == "clarify"
    commands = asked.plain_text().splitlines()[1:]
    assert sorted(commands) == [
        "  /event batch2-info-meeting place Bergen",
        "  /event county-meeting place Bergen",
        "  /event network-meeting place Bergen",
    ]
    picks = {c.label.split(" (")[0]: c.id for c in asked.choices}
    pick = picks["Joint meeting for counties on U4SSC"]

    unchanged = Unchanged(coord_services)
    refused = chat.choose(OLA, pick)
    assert refused.kind == "refused"
    unchanged.check()

    applied = chat.choose(KARI, pick)
    assert applied.kind == "edited"
    assert "  place: Oslo → Bergen" in applied.plain_text().splitlines()
    places = {e.key: e.location for e in registry(coord_services).events}
    assert places["county-meeting"] == "Bergen"
    assert places["network-meeting"] == places["batch2-info-meeting"] == "Oslo"


@pytest.mark.parametrize(
    ("command", "first_line"),
    [
        ("/event frobnicate cancel", "No event “frobnicate” in the registry."),
        (
            "/event county-meeting date 30.02.2020",
            "“30.02.2020” is not a date; write 2020-02-28 or 28.02.2020.",
        ),
        (
            "/event county-meeting time 2020-02-21 15:00-10:00",
            "The end (2020-02-21 10:00) is not after the start (2020-02-21 15:00).",
        ),
        (
            "/event county-meeting place Oslo\nBcc: everyone@example.org",
            "The text contains a line break or control character (U+000A); send it on one line.",
        ),
        ("/event county-meeting cancel please", "“cancel” takes nothing after it (got “please”)."),
        (
            "/email vesa-heikki-jantti vesa@@bodo.kommune.no",
            "“vesa@@bodo.kommune.no” cannot be used: it must contain exactly one '@' (has 2).",
        ),
        ("/email vesa-heikki-jantti", "Usage: /email PERSON ADDRESS"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    chat: ChatService, coord_services: Services, command: str, first_line: str
) -> None:
    unchanged = Unchanged(coord_services)
    reply = chat.message(KARI, command)
    assert reply.plain_text().startswith(first_line)
    assert "Traceback" not in reply.plain_text()
    unchanged.check()


def test_event_alone_explains_and_lists_the_keys(chat: ChatService) -> None:
    usage = chat.message(KARI, "/event").plain_text()
    assert "/event EVENT date 2020-02-28 - another day, times and length kept" in usage
    assert "• county-meeting 2020-02-21 Joint meeting for counties on U4SSC" in usage
    shown = chat.message(KARI, "/event county-meeting").plain_text().splitlines()
    assert shown[:5] == [
        "Joint meeting for counties on U4SSC (county-meeting)",
        "  when: 2020-02-21",
        "  place: Oslo",
        "  status: scheduled",
        "  SEQUENCE 0",
    ]
    keys = chat.message(KARI, "/events keys").plain_text()
    assert keys.splitlines()[0] == "Events and their keys:"
    assert "• steering-group-meeting 2020-04-24 First ordinary steering group meeting" in keys


def test_help_shows_the_edit_commands_to_coordinators_only(chat: ChatService) -> None:
    coordinator_help = chat.message(KARI, "/help").plain_text()
    assert "/event EVENT date|time|place|cancel|restore … - move, re-place" in coordinator_help
    assert "/email PERSON ADDRESS - change a person's e-mail address" in coordinator_help
    norwegian = chat.message(KARI_NB, "/help").plain_text()
    assert "/email PERSON ADDRESS - endre e-postadressen til en person" in norwegian
    others = chat.message(OLA, "/help").plain_text()
    assert "/event " not in others and "/email" not in others


def test_email_by_name_shows_the_data_quality_of_the_new_address(
    chat: ChatService, coord_services: Services
) -> None:
    typo = chat.message(KARI, "/email Vesa Heikki Jantti vesa@bodo.kommune.noo")
    lines = typo.plain_text().splitlines()
    assert lines[:2] == [
        "E-mail address of Vesa Heikki Jäntti (vesa-heikki-jantti) changed:",
        "  vesa.heikki.jantti@bodo.kommune.no → vesa@bodo.kommune.noo",
    ]
    assert lines[2] == "Data-quality check of the address:"
    assert lines[3].startswith("  • error: domain 'bodo.kommune.noo' looks like a misspelling")
    fixed = chat.message(KARI, "/email vesa-heikki-jantti vesa@bodo.kommune.no")
    assert fixed.plain_text().splitlines()[-1] == "The address passes the data-quality checks."
    email = registry(coord_services).person_by_key["vesa-heikki-jantti"].email
    assert email == "vesa@bodo.kommune.no"


def test_an_unknown_person_gets_suggestions_that_can_be_picked(
    chat: ChatService, coord_services: Services
) -> None:
    unchanged = Unchanged(coord_services)
    reply = chat.message(KARI, "/email vesa vesa@bodo.kommune.no")
    assert reply.plain_text().splitlines()[:3] == [
        "No person “vesa” in the registry.",
        "Did you mean:",
        "  /email vesa-heikki-jantti vesa@bodo.kommune.no",
    ]
    unchanged.check()
    [pick] = [c.id for c in reply.choices if c.label == "Vesa Heikki Jäntti"]
    assert chat.choose(KARI, pick).kind == "edited"
    email = registry(coord_services).person_by_key["vesa-heikki-jantti"].email
    assert email == "vesa@bodo.kommune.no"


def test_contact_shows_adds_and_removes_role_holders(
    chat: ChatService, coord_services: Services
) -> None:
    shown = chat.message(KARI, "/contact Mo i Rana datakontakt").plain_text()
    assert shown == "Rana, local data-collection contact: Gro Sæten"
    added = chat.message(KARI, "/contact Bodø data contact Heike Warmuth")
    assert added.plain_text().splitlines() == [
        "Bodø, local data-collection contact",
        "  before: Vesa Heikki Jäntti",
        "  now: Heike Warmuth, Vesa Heikki Jäntti",
    ]
    removed = chat.message(KARI_NB, "/contact bodo datakontakt fjern vesa-heikki-jantti")
    assert removed.plain_text().splitlines() == [
        "Bodø, lokal kontaktperson for datainnsamling",
        "  før: Heike Warmuth, Vesa Heikki Jäntti",
        "  nå: Heike Warmuth",
    ]
    holders = registry(coord_services).holders("data_contact", municipality="bodo")
    assert [p.key for p in holders] == ["heike-warmuth"]

    unchanged = Unchanged(coord_services)
    for command, first_line in [
        (
            "/contact Bergen data_contact Heike Warmuth",
            "No municipality “Bergen” in the programme.",
        ),
        ("/contact Bodø wizard Heike Warmuth", "No role “wizard”."),
        (
            "/contact Bodø data_contact remove Vesa Heikki Jäntti",
            "Vesa Heikki Jäntti is not the local data-collection contact in Bodø.",
        ),
        ("/contact Bodø data_contact heike", "No person “heike” in the registry."),
    ]:
        assert chat.message(KARI, command).plain_text().splitlines()[0] == first_line
    unchanged.check()


def test_a_new_person_is_added_given_a_role_and_shown(
    chat: ChatService, coord_services: Services
) -> None:
    added = chat.message(KARI, '/person add "Kari Nordmann" kari.nordmann@bodo.kommune.no')
    assert added.plain_text().splitlines() == [
        "Added: Kari Nordmann (kari-nordmann)",
        "  kari.nordmann@bodo.kommune.no",
        "Give them a role with:",
        "  /contact MUNICIPALITY ROLE kari-nordmann",
    ]
    chat.message(KARI, "/contact Bodø datakontakt kari-nordmann")
    assert chat.message(KARI, "/person Kari Nordmann").plain_text().splitlines() == [
        "Kari Nordmann (kari-nordmann)",
        "  kari.nordmann@bodo.kommune.no",
        "  • local data-collection contact, Bodø",
    ]
    twice = chat.message(KARI, "/person add Kari Nordmann")
    assert twice.plain_text().splitlines() == [
        "Kari Nordmann is already in the registry (key kari-nordmann).",
        "Nothing was changed.",
    ]
    members = registry(coord_services).audience_members("batch1")
    assert "kari-nordmann" in {p.key for p in members}


# --- through the Telegram stack -------------------------------------------------------------


async def test_telegram_coordinator_edits_and_others_are_refused(
    api: BotApiStandIn, tg_services: Services
) -> None:
    async with running_telegram(tg_services):
        unchanged = Unchanged(tg_services)
        [refused] = texts(
            await exchange(api, message_update(USER, "/event county-meeting date 2020-02-28"))
        )
        assert refused == "/event is for coordinators only. Nothing was changed."
        [refused_email] = texts(
            await exchange(api, message_update(USER, "/email vesa-heikki-jantti x@example.org"))
        )
        assert refused_email == "/email is for coordinators only. Nothing was changed."
        unchanged.check()

        [moved] = texts(
            await exchange(
                api, message_update(COORDINATOR, "/event county-meeting date 28.02.2020")
            )
        )
        assert moved.splitlines()[:3] == [
            "Moved: Joint meeting for counties on U4SSC (county-meeting)",
            "  when: 2020-02-21 → 2020-02-28",
            "  SEQUENCE 0 → 1",
        ]
        assert programme_start(tg_services, "county-meeting") == date(2020, 2, 28)

        # Asked back with buttons; a button is run with the rights of whoever presses it.
        [asked] = await exchange(
            api, message_update(COORDINATOR, "/event the meeting in Oslo cancel")
        )
        rows = asked.params["reply_markup"]["inline_keyboard"]
        buttons = {row[0]["text"].split(" (")[0]: row[0]["callback_data"] for row in rows}
        network = buttons["First ordinary meeting of the Network of Excellence"]
        [refused_press] = texts(await exchange(api, callback_update(USER, network)))
        assert refused_press == "/event is for coordinators only. Nothing was changed."
        assert not registry(tg_services).event_by_key["network-meeting"].cancelled
        [cancelled] = texts(await exchange(api, callback_update(COORDINATOR, network)))
        assert cancelled.startswith(
            "Cancelled: First ordinary meeting of the Network of Excellence (network-meeting)"
        )
        ev = registry(tg_services).event_by_key["network-meeting"]
        assert ev.cancelled and ev.sequence == 1
        assert [r.subject_key for r in recent_edits(tg_services.db)] == [
            "network-meeting",
            "county-meeting",
        ]


# --- through the console --------------------------------------------------------------------


async def console_session(services: Services, typed: bytes) -> str:
    """Type `typed` into a console chat through a pipe; everything it wrote."""
    read_fd, write_fd = os.pipe()
    output = io.StringIO()
    finished = asyncio.Event()
    console = ConsoleChat(
        ChatService(services), input_fd=read_fd, output=output, on_eof=finished.set
    )
    try:
        await console.start()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(typed)
        await finished.wait()
        await console.stop()
    finally:
        os.close(read_fd)
    return output.getvalue()


async def test_the_console_operator_edits_and_picks_by_number(services: Services) -> None:
    out = await console_session(
        services,
        b"/event county-meeting place Trondheim\n/event the meeting in Oslo date 6.3.2020\n1\n",
    )
    assert "New place: Joint meeting for counties on U4SSC (county-meeting)" in out
    assert "  place: Oslo → Trondheim" in out
    # The county meeting is no longer in Oslo, so two meetings are offered.
    offered = out.split("Type a number to choose:\n")[1].splitlines()[:3]
    assert [line[:5] for line in offered] == ["  1. ", "  2. ", "> Mov"]
    first_title = offered[0][5:].rsplit(" (", 1)[0]
    data = registry(services)
    [picked] = [e for e in data.events if e.title_en == first_title]
    assert picked.key in {"network-meeting", "batch2-info-meeting"}
    assert picked.start == date(2020, 3, 6) and picked.sequence == 1
    assert [r.actor for r in recent_edits(services.db)] == ["console", "console"]
