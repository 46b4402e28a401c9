"""`coordbot run` as a user runs it: at the time of a deadline reminder (bot.now), the
reminder reaches the data contacts over Telegram (the stand-in) and e-mail (aiosmtpd); a
restart at the same time sends nothing twice."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable

import pytest

from bot import access
from bot.config import Config
from bot.db import Database
from bot.delivery.broadcast import check_request, queue_broadcast, save_draft, source_of
from bot.delivery.models import OutboxMessage
from bot.services import build_services
from tests.botapi_standin import BotApiStandIn
from tests.coordbot_process import start_coordbot, stop_with_sigterm
from tests.crowd import add_crowd
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

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


def _reminders_settled(db: Database) -> bool:
    """True once reminder rows exist and every one is in a final state, as the database says."""
    with db.session() as session:
        statuses = {
            status
            for (status,) in session.query(OutboxMessage.status).filter_by(source_kind="reminder")
        }
    return bool(statuses) and not {"pending", "sending"} & statuses


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
        # Run until the outbox has settled every reminder row (none pending or in flight), not
        # merely until nine mails arrived: a duplicate sent after the ninth would show.
        db = Database(config.bot.database_url)  # one engine for the polling
        try:
            log = await _run_until(env, api, lambda: _reminders_settled(db))
        finally:
            db.dispose()
        # In each reader's language: the data contacts read bokmål.
        [reminder] = api.sent_texts(GEIR)
        assert reminder.startswith("<b>⏰ Påminnelse (14 dager før)</b>")
        assert "Ikke meldt ferdig ennå: Asker" in reminder
        mails = [m.parsed() for m in smtp_server.messages]
        # Every batch-one data contact whose address `registry check` finds no error in
        # (a space in Molde's, misspelt domains in Haugesund's and Karmøy's).
        assert len(mails) == 7
        assert {str(m["Subject"]) for m in mails} == {
            "Påminnelse: Frist: alle relevante KPI-data samlet inn (2020-01-31)"
        }
        assert "reminder data-deadline (14d): 8 message(s) queued" in log

        # A restart at the same moment finds the reminder already sent.
        log = await _run_until(env, api, lambda: True)
        assert api.sent_texts(GEIR) == [reminder]
        assert len(smtp_server.messages) == 7
        assert "message(s) queued" not in log


async def test_sigterm_during_a_broadcast_gives_back_what_was_not_sent(config: Config) -> None:
    """`coordbot run` delivering a 40-member Telegram broadcast at 2 messages a second is
    stopped with SIGTERM: what went out is recorded sent, the rest goes back to pending with
    the reason (Outbox.release), nothing is left in flight, and nothing was sent twice."""
    members, chat_base = 40, 800_000
    add_crowd(config, members, chat_base)
    services = build_services(config)
    try:
        request = check_request(
            services,
            audience="crowd",
            channels="telegram",
            subject=None,
            text="Hei, alle",
            created_by="t",
        )
        broadcast = save_draft(services, request)
        assert queue_broadcast(services, broadcast) == members
    finally:
        services.close()
    async with BotApiStandIn() as api:
        env = {
            **os.environ,
            "COORDBOT_TELEGRAM_TOKEN": api.token,
            "COORDBOT_TELEGRAM_API_BASE_URL": api.base_url,
            "COORDBOT_TELEGRAM_POLL_TIMEOUT": "1",
            "COORDBOT_DELIVERY_TELEGRAM_PER_SECOND": "2",
        }
        log = await _run_until(env, api, lambda: len(api.calls_to("sendMessage")) >= 3)
        delivered = Counter(int(c.params["chat_id"]) for c in api.calls_to("sendMessage"))
    assert "Traceback" not in log
    services = build_services(config)
    try:
        rows = services.outbox.rows(source_of(broadcast))
    finally:
        services.close()
    statuses = Counter(r.status for r in rows)
    assert "sending" not in statuses
    assert statuses["sent"] == sum(delivered.values()) and max(delivered.values()) == 1
    assert {int(r.address) for r in rows if r.status == "sent"} == set(delivered)
    released = [r for r in rows if r.last_error == "released at shutdown before sending"]
    assert released and all(r.status == "pending" for r in released)
    assert statuses["pending"] == members - statuses["sent"]
