"""The transport-agnostic parts: command parsing, strings, rate limit, choices, chat users."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot import access, i18n
from bot.chat import ChatService, Sender
from bot.chat.choices import ChoiceStore
from bot.chat.commands import COMMANDS, parse_command
from bot.chat.directory import with_prefix
from bot.clock import FixedClock
from bot.config import load_config
from bot.ratelimit import RateLimiter
from bot.services import Services, build_services


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/who Bodø data", ("who", None, "Bodø data")),
        ("/WHO@coordbot_test_bot  x  y ", ("who", "coordbot_test_bot", "x  y")),
        ("/events\nall", ("events", None, "all")),
        ("/start", ("start", None, "")),
    ],
)
def test_parse_command(text: str, expected: tuple[str, str | None, str]) -> None:
    parsed = parse_command(text)
    assert parsed is not None and (parsed.name, parsed.target, parsed.args) == expected


@pytest.mark.parametrize("text", ["who is it", "/", "/ who", "a /who", "/who-is", "/ø"])
def test_not_commands(text: str) -> None:
    assert parse_command(text) is None


def test_every_command_is_described_in_every_language() -> None:
    for spec in COMMANDS:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", spec.name)
        for lang in i18n.LANGUAGES:
            description = i18n.gettext(lang, spec.description)
            assert 3 <= len(description) <= 256
    english = {spec.name: i18n.gettext("en", spec.description) for spec in COMMANDS}
    for lang in ("nb", "nn"):
        described = {spec.name: i18n.gettext(lang, spec.description) for spec in COMMANDS}
        assert all(english[name] != described[name] for name in english)
    bokmal = {spec.name: i18n.gettext("nb", spec.description) for spec in COMMANDS}
    assert bokmal["next"] == "hva skjer nå"
    assert i18n.gettext("nn", COMMANDS[0].description) == "kva denne boten kan"


@pytest.mark.parametrize(
    ("tag", "lang"),
    [("nb", "nb"), ("nn", "nn"), ("no", "nb"), ("nb_NO.UTF-8", "nb"), ("en-GB", "en"),
     ("de", "en"), ("C", "nb"), (None, "nb"), ("", "nb")],
)  # fmt: skip
def test_language_from_tag(tag: str | None, lang: str) -> None:
    assert i18n.language_from_tag(tag, default="nb") == lang


@pytest.mark.parametrize(
    ("query", "lang", "question"),
    [
        ("data contact Bodø", "en", "who is data contact Bodø"),
        ("is the programme leader?", "en", "who is the programme leader?"),
        ("Who is Bodø's data contact?", "en", "Who is Bodø's data contact?"),
        ("datakontakt i Bodø", "nb", "hvem er datakontakt i Bodø"),
        ("er datakontakt i Bodø?", "nb", "hvem er datakontakt i Bodø?"),
    ],
)
def test_who_queries_become_questions(query: str, lang: str, question: str) -> None:
    assert with_prefix(query, "who", lang) == question  # type: ignore[arg-type]


def test_when_queries_become_questions() -> None:
    assert with_prefix("styringsgruppemøtet", "when", "nb") == "når er styringsgruppemøtet"
    assert with_prefix("når er fristen?", "when", "nb") == "når er fristen?"
    assert with_prefix("Naar er fristen?", "when", "nb") == "Naar er fristen?"


def test_rate_limit_slides_and_notifies_once_per_burst(clock: FixedClock) -> None:
    limiter = RateLimiter(2, clock)
    assert limiter.check("a").allowed
    clock.advance(timedelta(seconds=30))
    assert limiter.check("a").allowed
    refused = limiter.check("a")
    assert not refused.allowed and refused.notify and refused.retry_after_seconds == 30
    assert limiter.check("a") == type(refused)(False, 30, notify=False)
    assert limiter.check("b").allowed
    clock.advance(timedelta(seconds=30))  # the first question left the window
    assert limiter.check("a").allowed
    refused_again = limiter.check("a")
    assert not refused_again.allowed and refused_again.notify
    assert RateLimiter(0, clock).check("a").allowed


def test_rate_limit_memory_stays_bounded(clock: FixedClock) -> None:
    limiter = RateLimiter(5, clock, max_keys=10)
    for n in range(50):
        limiter.check(f"user{n}")
        clock.advance(timedelta(seconds=10))
    assert len(limiter._hits) <= 11


def test_choice_store_forgets_the_oldest() -> None:
    store = ChoiceStore(capacity=2)
    first, second = store.put("a" * 500), store.put("b")
    assert len(first.encode()) + 2 <= 64
    assert store.get(first) == "a" * 500  # used: now the newest
    store.put("c")
    assert store.get(second) is None and store.get(first) == "a" * 500
    assert store.get("nonsense") is None


@pytest.mark.db
def test_chat_users_record_approve_link_language_block(services: Services) -> None:
    db, now = services.db, services.clock.now()
    user = access.record_chat_user(
        db, telegram_user_id=5, display_name="Kari", username="kari", private_chat_id=5, now=now
    )
    assert user.chat_id == 5 and not user.approved and user.reachable
    assert access.set_language(db, 5, "nb") is not None
    with pytest.raises(ValueError):
        access.set_language(db, 5, "sv")
    access.mark_blocked(db, 5, now)
    assert not access.find_chat_user(db, 5).reachable  # type: ignore[union-attr]
    # Writing to the bot privately again unblocks.
    access.record_chat_user(
        db, telegram_user_id=5, display_name="Kari N", username=None, private_chat_id=5, now=now
    )
    user = access.approve(db, 5, by=1)  # type: ignore[assignment]
    user = access.link_person(db, 5, "vesa-heikki-jantti", by=1)  # type: ignore[assignment]
    assert user is not None and user.reachable and user.approved and user.language == "nb"
    assert user.display_name == "Kari N" and user.approved_by == 1
    assert access.find_chat_user_for_person(db, "vesa-heikki-jantti") == user
    assert access.approve(db, 404, by=1) is None
    assert [u.telegram_user_id for u in access.list_chat_users(db)] == [5]


@pytest.mark.db
def test_directory_access_rules(services: Services) -> None:
    open_config = services.config
    known = type(open_config)(
        bot=type(open_config.bot)(directory_access="known"), telegram=open_config.telegram
    )
    stranger = access.record_chat_user(
        services.db,
        telegram_user_id=9,
        display_name="x",
        username=None,
        private_chat_id=9,
        now=services.clock.now(),
    )
    assert access.may_use_directory(open_config, stranger, coordinator=False)
    assert not access.may_use_directory(known, stranger, coordinator=False)
    assert not access.may_use_directory(known, None, coordinator=False)
    assert access.may_use_directory(known, None, coordinator=True)
    linked = access.link_person(services.db, 9, "someone", by=1)
    assert access.may_use_directory(known, linked, coordinator=False)


class _NoDatabase:
    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the database was used ({name})")


@pytest.mark.db
def test_notices_need_no_database(services: Services) -> None:
    chat = ChatService(services)
    real_db = services.db
    services.db = _NoDatabase()  # type: ignore[assignment]
    try:
        sender = Sender(user_id=3, chat_id=3, display_name="x", language_code="nb")
        # The error notice is what the error handler sends when the database is the problem.
        assert chat.notice(sender, "error").plain_text().startswith("Beklager")
    finally:
        services.db = real_db


@pytest.mark.db
def test_calendar_without_a_public_address_still_attaches_the_file(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    monkeypatch.setenv("COORDBOT_CALENDAR_LISTEN", "127.0.0.1:0")
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL", "")
    services = build_services(load_config(), clock)
    try:
        reply = ChatService(services).command(Sender(7, 7, "x"), "calendar", "")
    finally:
        services.close()
    assert reply.plain_text().startswith("The calendar has no public address yet")
    assert reply.attachment is not None and reply.attachment.data.startswith(b"BEGIN:VCALENDAR")


@pytest.mark.db
def test_calendar_links_include_the_linked_persons_municipality(services: Services) -> None:
    chat = ChatService(services)
    sender = Sender(8, 8, "Vesa")
    plain_links = chat.command(sender, "calendar", "").plain_text()
    access.link_person(services.db, 8, "vesa-heikki-jantti", by=None)
    linked_links = chat.command(sender, "calendar", "").plain_text()
    assert "municipality-bodo" not in plain_links
    assert "municipality-bodo.ics" in linked_links
