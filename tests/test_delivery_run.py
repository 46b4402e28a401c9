"""`coordbot run` as a user runs it: at the time of a deadline reminder (bot.now), the
reminder reaches the data contacts over Telegram (the stand-in) and e-mail (aiosmtpd); a
restart at the same time sends nothing twice."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from bot import access
from bot.config import Config
from bot.services import build_services
from tests.botapi_standin import BotApiStandIn
from tests.coordbot_process import start_coordbot, stop_with_sigterm
from tests.smtp_server import SmtpTestServer

GEIR = 5001  # Asker's data contact, linked on Telegram


async def _run_until(
    env: dict[str, str], api: BotApiStandIn, condition: Callable[[], object]
) -> str:
    """Start `coordbot run`, wait for the chat to be up and `condition()`, then SIGTERM."""
    before = len(api.calls_to("setMyCommands"))
    process = await start_coordbot("run", env=env)
    try:
        # The chat starts last: once it has published its commands, the scheduler's
        # catch-up and the delivery workers are running.
        await api.wait_for_calls("setMyCommands", before + 1, timeout=60)
        async with asyncio.timeout(60):
            while not condition():
                await asyncio.sleep(0.05)  # waiting on another process's I/O
    finally:
        code, log = await stop_with_sigterm(process, 20)
    assert code == 0, log
    assert "Traceback" not in log
    return log


async def test_a_reminder_goes_out_at_its_time_once(
    config: Config, smtp_server: SmtpTestServer
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
    services.close()
    async with BotApiStandIn() as api:
        env = {
            **os.environ,
            "COORDBOT_BOT_NOW": "2020-01-17T08:00:30",
            "COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK": "true",
            "COORDBOT_TELEGRAM_TOKEN": api.token,
            "COORDBOT_TELEGRAM_API_BASE_URL": api.base_url,
            "COORDBOT_TELEGRAM_POLL_TIMEOUT": "1",
            "COORDBOT_EMAIL_SMTP_HOST": smtp_server.host,
            "COORDBOT_EMAIL_SMTP_PORT": str(smtp_server.port),
            "COORDBOT_EMAIL_SECURITY": "none",
            "COORDBOT_EMAIL_FROM_ADDRESS": "coordbot@u4ssc-norge.example.org",
        }
        log = await _run_until(
            env, api, lambda: api.sent_texts(GEIR) and len(smtp_server.messages) >= 9
        )
        [reminder] = api.sent_texts(GEIR)
        assert reminder.startswith("<b>⏰ Reminder (14 days before)</b>")
        assert "Not yet reported done: Asker" in reminder
        mails = [m.parsed() for m in smtp_server.messages]
        assert len(mails) == 9  # every batch-one data contact with a usable address
        assert {str(m["Subject"]) for m in mails} == {
            "Reminder: Deadline: all KPI data collected (2020-01-31)"
        }
        assert "reminder data-deadline (14d): 10 message(s) queued" in log

        # A restart at the same moment finds the reminder already sent.
        log = await _run_until(env, api, lambda: True)
        assert api.sent_texts(GEIR) == [reminder]
        assert len(smtp_server.messages) == 9
        assert "message(s) queued" not in log
