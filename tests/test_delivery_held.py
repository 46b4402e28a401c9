"""Delivery safety (DESIGN.md): a demo start with a fixed clock at a reminder time and a
reachable SMTP server sends nothing and says so; released by
delivery.send_with_fixed_clock it sends. E-mail needs its server named explicitly, Telegram a
token."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable

import pytest

from bot.cli import main
from bot.config import load_config
from bot.delivery.hold import FIXED_CLOCK, NOT_CONFIGURED, hold_for, holds
from bot.services import build_services
from tests.coordbot_process import start_coordbot, stop_with_sigterm
from tests.smtp_server import SmtpTestServer

REMINDER_TIME = "2020-01-17T08:00:30"  # the 14-day reminder of the data deadline


def _held_rows() -> list[dict[str, object]]:
    services = build_services(load_config())
    try:
        from sqlalchemy import select

        from bot.delivery.models import OutboxMessage

        with services.db.session() as session:
            return [
                {"status": m.status, "channel": m.channel, "error": m.last_error}
                for m in session.scalars(select(OutboxMessage))
            ]
    finally:
        services.close()


async def _run_until(env: dict[str, str], condition: Callable[[], bool]) -> str:
    """Start `coordbot run`, read its log until every component has started, wait for
    `condition()`, then SIGTERM; returns the whole log."""
    process = await start_coordbot("run", env=env)
    early: list[str] = []
    try:
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while not any("calendar feeds at" in line for line in early):
                line = (await process.stderr.readline()).decode()
                if not line:
                    break
                early.append(line)
            while not condition():
                await asyncio.sleep(0.05)  # waiting on another process's I/O
    finally:
        code, rest = await stop_with_sigterm(process, 20)
    log = "".join(early) + rest
    assert code == 0, log
    assert "Traceback" not in log
    return log


@pytest.mark.db
async def test_a_demo_with_a_fixed_clock_sends_nothing_until_released(
    smtp_server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        **os.environ,
        "COORDBOT_BOT_NOW": REMINDER_TIME,
        "COORDBOT_EMAIL_SMTP_HOST": smtp_server.host,
        "COORDBOT_EMAIL_SMTP_PORT": str(smtp_server.port),
        "COORDBOT_EMAIL_SECURITY": "none",
        "COORDBOT_EMAIL_FROM_ADDRESS": "coordbot@u4ssc-norge.example.org",
    }

    def held_seven() -> bool:
        # The batch-one data contacts whose addresses have no error (three would bounce).
        return sum(r["status"] == "held" for r in _held_rows()) >= 7

    log = await _run_until(env, held_seven)
    assert smtp_server.messages == []
    assert "email delivery is held: bot.now is fixed (2020-01-17T08:00:30)" in log
    assert "COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK=true" in log
    # One line for the reminder, with how many people it was for.
    held_lines = [line for line in log.splitlines() if "held: reminder data-deadline" in line]
    assert len(held_lines) == 1, log
    assert "to 7 people by email" in held_lines[0]

    # `coordbot outbox` shows them, and why.
    capsys.readouterr()
    assert main(["outbox", "--json", "--status", "held"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 7
    assert all(r["error"].startswith(FIXED_CLOCK) for r in listed)

    # A later run without the fixed clock never sends what the demo planned.
    plain = {k: v for k, v in env.items() if k != "COORDBOT_BOT_NOW"}
    await _run_until(plain, lambda: True)
    assert smtp_server.messages == []

    # Released: the same start sends the nine e-mails.
    released = {**env, "COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK": "true"}
    log = await _run_until(released, lambda: len(smtp_server.messages) >= 7)
    assert "email delivery released: 7 held message(s) queued" in log
    assert len(smtp_server.messages) == 7
    assert not any(r["status"] == "held" for r in _held_rows() if r["channel"] == "email")


def test_email_needs_its_server_named_explicitly() -> None:
    # The defaults (localhost, coordbot@localhost) are not an operator's decision.
    hold = hold_for(load_config(env={}), "email")
    assert hold is not None and hold.code == NOT_CONFIGURED
    assert "email.smtp_host and email.from_address not set" in hold.reason
    only_host = load_config(env={"COORDBOT_EMAIL_SMTP_HOST": "localhost"})
    hold = hold_for(only_host, "email")
    assert hold is not None and "COORDBOT_EMAIL_FROM_ADDRESS" in hold.release
    both = load_config(
        env={"COORDBOT_EMAIL_SMTP_HOST": "localhost", "COORDBOT_EMAIL_FROM_ADDRESS": "a@b.no"}
    )
    assert hold_for(both, "email") is None


def test_telegram_needs_a_token_and_the_fixed_clock_holds_both() -> None:
    assert set(holds(load_config(env={}))) == {"telegram", "email"}
    token = load_config(env={"COORDBOT_TELEGRAM_TOKEN": "123456:abc"})
    assert "telegram" not in holds(token)
    fixed = load_config(
        env={"COORDBOT_TELEGRAM_TOKEN": "123456:abc", "COORDBOT_BOT_NOW": "2020-01-17T08:00"}
    )
    assert holds(fixed)["telegram"].code == FIXED_CLOCK
    released = load_config(
        env={
            "COORDBOT_TELEGRAM_TOKEN": "123456:abc",
            "COORDBOT_BOT_NOW": "2020-01-17T08:00",
            "COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK": "true",
        }
    )
    assert "telegram" not in holds(released)


@pytest.mark.db
def test_an_invite_is_not_sent_through_the_default_server(
    services: object, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ics", "invite", "county-meeting", "--to", "someone@example.org", "--send"])
    err = capsys.readouterr().err
    assert code == 3
    assert "e-mail delivery is held: email.smtp_host and email.from_address not set" in err
    assert "Nothing was sent." in err
