"""Personal feed links: with private feeds each approved or linked user gets their own token
(at least 128 bits) in /calendar, nobody else gets a private link, `coordbot feeds revoke USER`
makes that user's links stop working, and a short shared token is refused."""

from __future__ import annotations

import re

import aiohttp
import pytest

from bot import access
from bot.chat import ChatService, Sender
from bot.cli import main
from bot.clock import FixedClock
from bot.config import ConfigError, load_config
from bot.services import build_services
from bot.web import CalendarServer


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


SHARED = "s8Kq2LmZ7xV4nB1cR9tY6wE3pA0dF5gH"  # 32 characters
ANNE, BJORN, STRANGER = 6001, 6002, 6003


def _sender(user_id: int) -> Sender:
    return Sender(user_id=user_id, chat_id=user_id, display_name=f"user {user_id}")


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"/calendar/([^/\s]+)/programme\.ics", text))


@pytest.mark.db
async def test_private_links_are_personal_and_revocable(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_FEEDS", "false")
    monkeypatch.setenv("COORDBOT_CALENDAR_FEED_TOKEN", SHARED)
    services = build_services(load_config(), clock)
    chat = ChatService(services)
    server = CalendarServer(services)
    await server.start()
    try:
        # Anyone may ask; only approved or linked users get private links.
        stranger = chat.command(_sender(STRANGER), "calendar", "").plain_text()
        assert _tokens(stranger) == set() and SHARED not in stranger
        assert "your user id is 6003" in stranger

        for user in (ANNE, BJORN):
            chat.command(_sender(user), "start", "")  # recorded as a chat user
        access.approve(services.db, ANNE, by=None)
        access.link_person(services.db, BJORN, "geir-graff", by=None)
        [anne] = _tokens(chat.command(_sender(ANNE), "calendar", "").plain_text())
        [bjorn] = _tokens(chat.command(_sender(BJORN), "calendar", "").plain_text())
        assert anne != bjorn and SHARED not in (anne, bjorn)
        assert len(anne) >= 22  # at least 128 bits in URL-safe base64
        # The same user keeps the same token.
        assert _tokens(chat.command(_sender(ANNE), "calendar", "").plain_text()) == {anne}

        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.port}/calendar/{anne}/programme.ics"
            async with http.get(url) as response:
                assert response.status == 200
            assert main(["feeds", "revoke", str(ANNE)]) == 0
            assert "Revoked the feed token of user 6001" in capsys.readouterr().out
            async with http.get(url) as response:
                assert response.status == 404
            async with http.get(
                f"http://127.0.0.1:{server.port}/calendar/{bjorn}/programme.ics"
            ) as response:
                assert response.status == 200
        # Her next /calendar gives her a new token.
        [again] = _tokens(chat.command(_sender(ANNE), "calendar", "").plain_text())
        assert again != anne
    finally:
        await server.stop()
        services.close()


def test_a_short_shared_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"calendar.feed_token is too short \(1 characters"):
        load_config(env={"COORDBOT_CALENDAR_FEED_TOKEN": "a"})
    assert load_config(env={"COORDBOT_CALENDAR_FEED_TOKEN": SHARED}).calendar.feed_token
