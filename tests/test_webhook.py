"""Telegram webhook mode: `coordbot run` sets the webhook (URL, secret token, allowed updates)
instead of polling, and its web server takes Telegram's posts on the webhook's path; a post
without the right secret header is refused (403) and nothing of it is handled."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bot import access
from bot.app import build_components, serve
from bot.config import ConfigError, load_config
from bot.services import build_services
from bot.web import CalendarServer
from bot.webhook import SECRET_HEADER
from tests.botapi_standin import BotApiStandIn, message_update

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

SECRET = "s3cret_" + "x" * 40
WEBHOOK_URL = "https://bot.example.org/telegram/webhook"


def test_webhook_settings_are_checked_with_one_line_each() -> None:
    base = {"COORDBOT_TELEGRAM_TOKEN": "123456:TEST", "COORDBOT_TELEGRAM_WEBHOOK_URL": WEBHOOK_URL}
    assert load_config(
        env={**base, "COORDBOT_TELEGRAM_WEBHOOK_SECRET": SECRET}
    ).telegram.webhook_url
    cases = {
        "": "needs COORDBOT_TELEGRAM_WEBHOOK_SECRET",
        "short_secret": "needs COORDBOT_TELEGRAM_WEBHOOK_SECRET",
        "x" * 31: "(got 31)",
        "a space inside " + "x" * 40: "A-Z, a-z, 0-9, _ and -",
    }
    for secret, message in cases.items():
        with pytest.raises(ConfigError, match=re.escape(message)) as e:
            load_config(env={**base, "COORDBOT_TELEGRAM_WEBHOOK_SECRET": secret})
        assert "\n" not in str(e.value)
        assert secret not in str(e.value) or not secret
    good = {**base, "COORDBOT_TELEGRAM_WEBHOOK_SECRET": SECRET}
    with pytest.raises(ConfigError, match="must be an https:// URL"):
        load_config(env={**good, "COORDBOT_TELEGRAM_WEBHOOK_URL": "http://bot.example.org/hook"})
    with pytest.raises(ConfigError, match="needs a path"):
        load_config(env={**good, "COORDBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/"})
    with pytest.raises(ConfigError, match=r"telegram\.token is empty"):
        load_config(env={**good, "COORDBOT_TELEGRAM_TOKEN": ""})
    with pytest.raises(ConfigError, match="leader_retry_seconds must be positive"):
        load_config(env={"COORDBOT_BOT_LEADER_RETRY_SECONDS": "0"})


@asynccontextmanager
async def running_bot(api: BotApiStandIn, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """`coordbot run`'s components in this process, in webhook mode behind the stand-in;
    yields the web server's address."""
    monkeypatch.setenv("COORDBOT_TELEGRAM_TOKEN", api.token)
    monkeypatch.setenv("COORDBOT_TELEGRAM_API_BASE_URL", api.base_url)
    monkeypatch.setenv("COORDBOT_TELEGRAM_WEBHOOK_URL", WEBHOOK_URL)
    monkeypatch.setenv("COORDBOT_TELEGRAM_WEBHOOK_SECRET", SECRET)
    services = build_services(load_config())
    components = build_components(services, interactive=False)
    [web_server] = [c for c in components if isinstance(c, CalendarServer)]
    stop, started = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(serve(components, stop, on_started=started.set))
    try:
        await asyncio.wait_for(started.wait(), 60)
        yield f"http://127.0.0.1:{web_server.port}"
    finally:
        stop.set()
        await running
        services.close()


async def post(
    session: aiohttp.ClientSession, base: str, update: dict[str, object], secret: str | None
) -> int:
    """POST an update to the webhook path as Telegram (through a load balancer) would."""
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with session.post(f"{base}/telegram/webhook", json=update, headers=headers) as response:
        return response.status


async def test_webhook_answers_posts_with_the_secret_and_refuses_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with (
        BotApiStandIn() as api,
        running_bot(api, monkeypatch) as base,
        aiohttp.ClientSession() as session,
    ):
        assert api.webhook == {
            "url": WEBHOOK_URL,
            "secret_token": SECRET,
            "allowed_updates": ["message", "edited_message", "callback_query", "my_chat_member"],
        }
        question = "who is Bodø's data contact?"
        wrong = message_update(7101, question) | {"update_id": 1}
        missing = message_update(7102, question) | {"update_id": 2}
        assert await post(session, base, wrong, SECRET[:-1] + "y") == 403
        assert await post(session, base, missing, None) == 403
        good = message_update(7103, question) | {"update_id": 3}
        assert await post(session, base, good, SECRET) == 200
        await api.wait_for_calls("sendMessage", 1, timeout=30)
        [answer] = api.sent_texts(7103)
        assert "Vesa Heikki Jäntti" in answer
        # A malformed body with the right secret is refused without harm.
        async with session.post(
            f"{base}/telegram/webhook", data=b"{not json", headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 400
        # The other paths of the web server are untouched by webhook mode.
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
    # Nothing of the refused posts was handled: no reply, and their senders are unknown.
    assert api.sent_texts(7101) == [] and api.sent_texts(7102) == []
    assert [int(c.params["chat_id"]) for c in api.calls_to("sendMessage")] == [7103]
    services = build_services(load_config(), seed=False)
    try:
        known = {u for u in (7101, 7102, 7103) if access.find_chat_user(services.db, u) is not None}
    finally:
        services.close()
    assert known == {7103}
    # No polling in webhook mode, and stopping one instance leaves the webhook to the others.
    assert api.calls_to("deleteWebhook") == []
    assert api.webhook is not None


async def test_the_stand_in_keeps_webhooks_as_telegram_does() -> None:
    async with BotApiStandIn() as api, aiohttp.ClientSession() as session:

        async def call(method: str, **params: object) -> tuple[int, dict[str, object]]:
            url = f"{api.base_url}{api.token}/{method}"
            async with session.post(url, json=params) as response:
                return response.status, await response.json()

        status, body = await call("setWebhook", url="http://bot.example.org/hook")
        assert (status, body["description"]) == (
            400,
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        )
        status, _ = await call("setWebhook", url=WEBHOOK_URL, secret_token="no spaces please")
        assert status == 400 and api.webhook is None
        assert (await call("setWebhook", url=WEBHOOK_URL, secret_token=SECRET))[0] == 200
        status, body = await call("getUpdates")
        assert status == 409 and "webhook is active" in str(body["description"])
        status, body = await call("getWebhookInfo")
        assert body["result"]["url"] == WEBHOOK_URL  # type: ignore[index]
        assert (await call("deleteWebhook"))[0] == 200
        assert api.webhook is None
        assert (await call("getUpdates"))[0] == 200
