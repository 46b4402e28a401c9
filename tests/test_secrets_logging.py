"""Secrets never reach the log, at any level: `coordbot run` at DEBUG against the Bot API
stand-in, with a wrong token and with a good one (the Bot API URL carries it), and with a
private feed token that a /calendar reply contains."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from bot.config import Config
from tests.botapi_standin import BotApiStandIn, message_update
from tests.crowd import add_crowd

REPO = Path(__file__).resolve().parent.parent
GOOD = "7012345678:AAHfQ3xk9vT2mLq8ZpR4wY6uN1bC5dE7gJ0"
WRONG = "7012345678:AAWrOnGwRoNgwRoNgwRoNgwRoNgwRoNg123"
FEED_TOKEN = "Fd9sK2mQ7vX4pL8nR3tY6wZ1bC5hJ0gE"
COORDINATOR = 777
CHAT_BASE = 880_000


def _env(api: BotApiStandIn, token: str) -> dict[str, str]:
    return {
        **os.environ,
        "COORDBOT_BOT_LOG_LEVEL": "DEBUG",
        "COORDBOT_TELEGRAM_TOKEN": token,
        "COORDBOT_TELEGRAM_API_BASE_URL": api.base_url,
        "COORDBOT_TELEGRAM_POLL_TIMEOUT": "1",
        "COORDBOT_TELEGRAM_COORDINATORS": str(COORDINATOR),
        "COORDBOT_CALENDAR_PUBLIC_FEEDS": "false",
        "COORDBOT_CALENDAR_FEED_TOKEN": FEED_TOKEN,
    }


async def run_logged(api: BotApiStandIn, token: str, repo: Path = REPO) -> tuple[int, str]:
    """`coordbot run` at DEBUG: with a good token, until it answered /calendar; returns the
    exit code and the whole log."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=repo,
        env=_env(api, token),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        if token == api.token:
            await api.wait_for_calls("setMyCommands", 1, timeout=60)
            api.push_update(message_update(COORDINATOR, "/calendar"))
            await api.wait_until(lambda: bool(api.sent_texts(COORDINATOR)), timeout=30)
        async with asyncio.timeout(30):
            while process.returncode is None and token != api.token:
                await asyncio.sleep(0.05)  # a wrong token ends the process by itself
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 20)
    assert process.stderr is not None
    return process.returncode or 0, (await process.stderr.read()).decode()


def _leaks(log: str, *secrets: str) -> list[str]:
    found = []
    for secret in secrets:
        for part in (secret, secret.partition(":")[2]):
            if part and part in log:
                found.append(part)
    return found


@pytest.mark.db
async def test_a_wrong_token_is_not_logged_at_debug() -> None:
    async with BotApiStandIn(token=GOOD) as api:
        code, log = await run_logged(api, WRONG)
    assert code == 1, log
    assert "Telegram" in log  # it does say what went wrong
    assert _leaks(log, WRONG, FEED_TOKEN) == [], log


@pytest.mark.db
async def test_a_good_token_and_feed_links_are_not_logged_at_debug() -> None:
    async with BotApiStandIn(token=GOOD) as api:
        code, log = await run_logged(api, GOOD)
        reply = "\n".join(api.sent_texts(COORDINATOR))
    assert code == 0, log
    # The coordinator got private links with a personal token ...
    personal = set(re.findall(r"/calendar/([^/\s]+)/programme\.ics", reply))
    assert len(personal) == 1 and FEED_TOKEN not in personal
    assert "DEBUG" in log and "sendMessage" in log  # ... the log talks about it at DEBUG ...
    assert _leaks(log, GOOD, FEED_TOKEN, *personal) == [], log  # ... and shows no secret


@pytest.mark.db
async def test_other_commands_log_through_the_filter_too(config: Config) -> None:
    """`coordbot broadcast` at DEBUG (not `run`): what it prints, on stdout and stderr, shows
    neither the token (the Bot API URL carries it) nor the feed token."""
    add_crowd(config, 3, CHAT_BASE)
    async with BotApiStandIn(token=GOOD) as api:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "broadcast",
            "--audience",
            "crowd",
            "--channel",
            "telegram",
            "--text",
            "Hei",
            cwd=REPO,
            env=_env(api, GOOD),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        delivered = {c.params["chat_id"] for c in api.calls_to("sendMessage")}
    printed = out.decode() + err.decode()
    assert process.returncode == 0, printed
    assert len(delivered) == 3  # it did talk to the Bot API with the token ...
    assert "DEBUG" in printed and "sendMessage" in printed  # ... and logged it at DEBUG ...
    assert _leaks(printed, GOOD, FEED_TOKEN) == [], printed  # ... showing no secret
