"""Two `coordbot run` on one PostgreSQL, in webhook mode behind the Bot API stand-in, as
behind a load balancer: updates posted to them by turns are each answered once; one instance
leads (reminders), the other stands by; after `kill -9` of the leader the other takes over
within the retry interval, and a reminder that falls due after the kill goes out once.

The processes run on a fixed clock (bot.now, 2020-01-16 08:00:30) on which nothing is due. After
the kill the data deadline is moved a day earlier, which makes its 14-day reminder due at that
very moment: only a leader's scheduler can then send it. `bot.leader_retry_seconds` is 0.5 here
(5 by default) so the take-over is quick; the test allows the 30 s the design promises."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable

import aiohttp
import pytest

from bot import access
from bot.config import Config
from bot.db import Database
from bot.delivery.models import OutboxMessage
from bot.registry.edits.apply import apply_edit
from bot.registry.edits.audit import Actor
from bot.registry.edits.changes import EventEdit
from bot.services import build_services
from tests.botapi_standin import BotApiStandIn, message_update
from tests.conftest import ON_POSTGRES
from tests.coordbot_process import start_coordbot
from tests.test_webhook import SECRET, WEBHOOK_URL, post

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(
        not ON_POSTGRES, reason="several instances share a PostgreSQL (COORDBOT_TEST_POSTGRES=1)"
    ),
]

GEIR = 5001  # Asker's data contact, linked on Telegram
UPDATES = 12
FIRST_CHAT = 7300
TAKEOVER_LIMIT = 30.0  # seconds, as the design promises
RETRY_SECONDS = 0.5


class Instance:
    """One `coordbot run` process and everything it has written to stderr so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        """What it logged so far."""
        return "".join(self.lines)

    async def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """Wait until a log line matches `pattern`; its match."""
        async with asyncio.timeout(timeout):
            while True:
                match = re.search(pattern, self.log)
                if match is not None:
                    return match
                if self.process.returncode is not None:
                    raise AssertionError(f"coordbot exited early:\n{self.log}")
                await asyncio.sleep(0.05)  # waiting on another process's output

    async def finish(self, sig: signal.Signals, timeout: float = 20.0) -> int:
        """Send `sig`, wait for the exit (killing it if it hangs) and the rest of its log."""
        try:
            if self.process.returncode is None:
                self.process.send_signal(sig)
            code = await asyncio.wait_for(self.process.wait(), timeout)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        await self._reader
        return code


async def _start(env: dict[str, str]) -> tuple[Instance, str]:
    instance = Instance(await start_coordbot("run", env=env))
    # Printed once every component runs (the chat last).
    await instance.wait_for(r"coordbot: calendar feeds at ")
    address = (await instance.wait_for(r"listening on (http://\S+)")).group(1)
    return instance, address


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)  # waiting on another process's I/O


def _reminder_statuses(db: Database) -> list[str]:
    with db.session() as session:
        return [
            status
            for (status,) in session.query(OutboxMessage.status).filter_by(source_kind="reminder")
        ]


async def test_two_instances_answer_each_update_once_and_survive_the_leaders_death(
    config: Config,
) -> None:
    services = build_services(config)
    access.record_chat_user(
        services.db,
        telegram_user_id=GEIR,
        display_name="Geir",
        username=None,
        private_chat_id=GEIR,
        now=services.clock.now(),
    )
    access.link_person(services.db, GEIR, "geir-graff", by=None)
    async with BotApiStandIn() as api, aiohttp.ClientSession() as session:
        env = {
            **os.environ,
            "COORDBOT_BOT_NOW": "2020-01-16T08:00:30",
            "COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK": "true",
            "COORDBOT_DELIVERY_POLL_SECONDS": "0.5",
            "COORDBOT_REMINDERS_CHANNELS": "telegram",
            "COORDBOT_REMINDERS_RECHECK_SECONDS": "1",
            "COORDBOT_BOT_LEADER_RETRY_SECONDS": str(RETRY_SECONDS),
            "COORDBOT_TELEGRAM_TOKEN": api.token,
            "COORDBOT_TELEGRAM_API_BASE_URL": api.base_url,
            "COORDBOT_TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
            "COORDBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        first, first_url = await _start(env)
        second, second_url = await _start(env)
        try:
            assert "became the leader (PostgreSQL advisory lock)" in first.log
            assert "standing by: another instance is the leader" in second.log
            assert "became the leader" not in second.log

            # The load balancer's turns: each update goes to one instance, alternately.
            question = "who is Bodø's data contact?"
            for n in range(UPDATES):
                update = message_update(FIRST_CHAT + n, question) | {"update_id": 100 + n}
                target = first_url if n % 2 == 0 else second_url
                assert await post(session, target, update, SECRET) == 200
            await api.wait_for_calls("sendMessage", UPDATES, timeout=60)
            assert api.sent_texts(GEIR) == []  # nothing due before the kill

            # The leader dies without a word; PostgreSQL frees its lock with its connection.
            await first.finish(signal.SIGKILL)
            killed_at = time.monotonic()
            # A coordinator moves the data deadline a day earlier: its 14-day reminder is due now.
            apply_edit(
                services, EventEdit("data-deadline", "date", "2020-01-30"), Actor("test", "Test")
            )
            await second.wait_for(r"became the leader", timeout=TAKEOVER_LIMIT)
            takeover = time.monotonic() - killed_at
            assert takeover < TAKEOVER_LIMIT

            # The reminder goes out, by the new leader; the outbox settles with it sent.
            await _until(lambda: len(api.sent_texts(GEIR)) >= 1, TAKEOVER_LIMIT)
            await _until(lambda: set(_reminder_statuses(services.db)) == {"sent"}, 30)
            # After the settling, the chat answers may show a duplicate too: count again.
            per_chat = Counter(int(c.params["chat_id"]) for c in api.calls_to("sendMessage"))
        finally:
            await first.finish(signal.SIGKILL)
            code = await second.finish(signal.SIGTERM)
            services.close()
        assert code == 0, second.log
        assert "Traceback" not in first.log + second.log
    [reminder] = api.sent_texts(GEIR)
    assert reminder.startswith("<b>⏰ Påminnelse (14 dager før)</b>")
    assert "2020-01-30 [deadline]" in reminder  # the moved date
    assert per_chat == Counter({GEIR: 1, **{FIRST_CHAT + n: 1 for n in range(UPDATES)}})
    assert all("Vesa Heikki Jäntti" in api.sent_texts(FIRST_CHAT + n)[0] for n in range(UPDATES))
    # Both instances answered their share.
    assert "reminder data-deadline (14d)" in second.log
    print(f"\ntake-over {takeover:.1f}s after kill -9 (retry every {RETRY_SECONDS}s)")
