"""The IMAP watcher under `coordbot run`, against a real Dovecot on loopback and a real SMTP
server: a question is answered in the thread within seconds, handled mail is moved only after
its effects are committed, and a kill -9 between the two handles every message once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import load_config
from bot.delivery.models import OutboxMessage
from bot.inbound.models import InboundMessage
from bot.inbound.watcher import FAULT_ENV, HANDLED_FOLDER, NEEDS_PERSON_FOLDER
from bot.services import build_services
from tests.coordbot_process import start_coordbot, stop_with_sigterm
from tests.dovecot_server import DovecotServer, DovecotUnavailable
from tests.smtp_server import SmtpTestServer, smtp_env

FIXTURES = Path(__file__).parent / "fixtures" / "inbound"
INBOUND = "coordbot@u4ssc.example.org"


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    try:
        server = DovecotServer().start()
    except DovecotUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, str], SmtpTestServer]]:

    with SmtpTestServer() as smtp:
        smtp_env(smtp, monkeypatch)
        settings = {
            "COORDBOT_INBOUND_ADDRESS": INBOUND,
            "COORDBOT_INBOUND_IMAP_HOST": dovecot.host,
            "COORDBOT_INBOUND_IMAP_PORT": str(dovecot.port),
            "COORDBOT_INBOUND_IMAP_SECURITY": "none",
            "COORDBOT_INBOUND_USERNAME": dovecot.user,
            "COORDBOT_INBOUND_PASSWORD": dovecot.password,
            "COORDBOT_DELIVERY_POLL_SECONDS": "0.2",
            "COORDBOT_REMINDERS_ENABLED": "false",
            "COORDBOT_TELEGRAM_COORDINATORS": "4242",
        }
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        yield dict(os.environ), smtp


def question(n: int) -> bytes:
    raw = (FIXTURES / "question-iso-8859-1.eml").read_bytes()
    return raw.replace(b"q-latin1-20200115", f"imap-q{n}".encode())


async def wait_for(predicate: object, timeout: float = 20.0) -> float:
    """Seconds until `predicate()` holds (polling the real servers); fails after `timeout`."""
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


def ledger() -> list[InboundMessage]:
    services = build_services(load_config())
    try:
        with services.db.session() as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.key)))
    finally:
        services.close()


def reply_rows() -> list[OutboxMessage]:
    services = build_services(load_config())
    try:
        with services.db.session() as session:
            return list(
                session.scalars(
                    select(OutboxMessage).where(OutboxMessage.source_kind == "mail-reply")
                )
            )
    finally:
        services.close()


async def test_question_answered_within_seconds_and_moved(
    env: tuple[dict[str, str], SmtpTestServer], dovecot: DovecotServer
) -> None:
    environ, smtp = env
    dovecot.append(question(1))
    dovecot.append((FIXTURES / "oof-exchange.eml").read_bytes())
    dovecot.append((FIXTURES / "broken-mime.eml").read_bytes())
    # A 25 MB attachment is not fetched: a person looks at it.
    dovecot.append(question(9).replace(b"\r\n\r\n", b"\r\n\r\n" + b"A" * (25 * 1024 * 1024), 1))
    process = await start_coordbot("run", env=environ)
    try:
        await wait_for(lambda: len(smtp.messages) >= 1)
        await wait_for(lambda: len(dovecot.folder_messages(HANDLED_FOLDER)) == 2)
        await wait_for(lambda: len(dovecot.folder_messages(NEEDS_PERSON_FOLDER)) == 2)
        # A message arriving while coordbot waits in IDLE is answered within seconds.
        dovecot.append(question(2))
        seconds = await wait_for(lambda: len(smtp.messages) >= 2)
        assert seconds < 10
        await wait_for(lambda: len(dovecot.folder_messages(HANDLED_FOLDER)) == 3)
    finally:
        code, log = await stop_with_sigterm(process, 20)
    assert code == 0, log
    assert dovecot.folder_messages("INBOX") == []
    needs_person = dovecot.folder_messages(NEEDS_PERSON_FOLDER)
    assert [b"broken-20200115" in m for m in needs_person] == [True, False]
    assert len(needs_person[1]) > 25 * 1024 * 1024
    threads = sorted(str(m.parsed()["In-Reply-To"]) for m in smtp.messages)
    assert threads == ["<imap-q1@asker.kommune.no>", "<imap-q2@asker.kommune.no>"]
    print(f"IDLE: reply to a new question after {seconds:.2f}s")


@pytest.mark.parametrize(
    ("stage", "committed_before_restart"),
    [("committed", 2), ("effects-written", 1)],
    ids=["between-commit-and-move", "inside-the-transaction"],
)
async def test_kill_9_while_processing_handles_every_message_once(
    env: tuple[dict[str, str], SmtpTestServer],
    dovecot: DovecotServer,
    stage: str,
    committed_before_restart: int,
) -> None:
    environ, smtp = env
    # Three: a sender gets at most three answers an hour.
    for n in range(1, 4):
        dovecot.append(question(n))
    killed_env = {**environ, FAULT_ENV: f"{stage}:2"}
    process = await start_coordbot("run", env=killed_env)
    code = await asyncio.wait_for(process.wait(), 60)
    assert code == -signal.SIGKILL
    # Killed at the second message: after its commit it is recorded but still in the INBOX;
    # inside the transaction nothing of it was recorded.
    assert len(ledger()) == committed_before_restart
    assert len(reply_rows()) == committed_before_restart
    assert len(dovecot.folder_messages("INBOX")) == 2
    process = await start_coordbot("run", env=environ)
    try:
        await wait_for(lambda: dovecot.folder_messages("INBOX") == [], 30)
        await wait_for(lambda: all(r.status == "sent" for r in reply_rows()), 30)
    finally:
        code, log = await stop_with_sigterm(process, 20)
    assert code == 0, log
    assert [r.action for r in ledger()] == ["replied"] * 3
    assert len(reply_rows()) == 3  # one reply per question, the re-handled one included
    assert len(dovecot.folder_messages(HANDLED_FOLDER)) == 3
    answered = [str(m.parsed()["In-Reply-To"]) for m in smtp.messages]
    assert sorted(set(answered)) == [f"<imap-q{n}@asker.kommune.no>" for n in range(1, 4)]
    print(
        f"kill -9 at {stage} of message 2: 3 messages, ledger 3, replies queued 3, sent {len(answered)}"
    )
