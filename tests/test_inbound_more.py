"""Inbound mail, the rest: /attendance in chat (chat service, console, Telegram through the
Bot API stand-in), COUNTER and DELEGATED, a reply read from its subject, the List-Unsubscribe
mailto, reminders reporting a held address, and the watcher polling and reconnecting."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat import ChatService, Sender
from bot.cli import main
from bot.config import load_config
from bot.delivery.models import OutboxMessage
from bot.inbound.watcher import HANDLED_FOLDER, ImapWatcher
from bot.services import Services, build_services
from tests.botapi_standin import BotApiStandIn, message_update
from tests.chat_fakes import COORDINATOR, USER, exchange, running_telegram, texts
from tests.dovecot_server import DovecotServer, DovecotUnavailable
from tests.smtp_server import SmtpTestServer, smtp_env


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytest_plugins = ("tests.chat_fixtures",)

FIXTURES = Path(__file__).parent / "fixtures" / "inbound"
INBOUND = "coordbot@u4ssc.example.org"


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        smtp_env(server, monkeypatch)
        monkeypatch.setenv("COORDBOT_INBOUND_ADDRESS", INBOUND)
        monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
        monkeypatch.setenv("COORDBOT_BOT_NOW", "2020-01-15T09:00:00+01:00")
        # The clock is fixed on purpose: the SMTP server here is a test one.
        monkeypatch.setenv("COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK", "true")
        yield server


def ingest(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, object]:
    capsys.readouterr()
    main(["mail", "ingest", "--json", str(path)])
    return dict(json.loads(capsys.readouterr().out))


def invite(capsys: pytest.CaptureFixture[str], *addresses: str) -> None:
    for address in addresses:
        assert main(["ics", "invite", "network-meeting", "--to", address, "--send"]) == 0
    capsys.readouterr()


def attendance_rows(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    capsys.readouterr()
    main(["attendance", "network-meeting", "--json"])
    return {r["email"]: r for r in json.loads(capsys.readouterr().out)}


def calendar_reply(tmp_path: Path, name: str, vevent_lines: str, subject: str = "Re") -> Path:
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:{method}\r\n"
        "BEGIN:VEVENT\r\nUID:network-meeting@coordbot.u4ssc-norge\r\nSEQUENCE:0\r\n"
        "DTSTAMP:20200115T120000Z\r\n" + vevent_lines + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    method = "COUNTER" if "DTSTART" in vevent_lines else "REPLY"
    raw = (
        "From: Geir Graff <geir.graff@asker.kommune.no>\r\n"
        f"To: {INBOUND}\r\nSubject: {subject}\r\nMessage-ID: <{name}@asker.kommune.no>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/calendar; charset=utf-8; method={method}\r\n\r\n"
        + body.format(method=method)
    )
    path = tmp_path / f"{name}.eml"
    path.write_bytes(raw.encode())
    return path


def notices() -> list[str]:
    services = build_services(load_config())
    try:
        with services.db.session() as session:
            return [
                r.body.decode()
                for r in session.scalars(
                    select(OutboxMessage).where(OutboxMessage.source_kind == "inbound-notice")
                )
            ]
    finally:
        services.close()


def test_delegated_and_counter(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    invite(capsys, "geir.graff@asker.kommune.no")
    counter = calendar_reply(
        tmp_path,
        "counter",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:geir.graff@asker.kommune.no\r\n"
        "DTSTART;VALUE=DATE:20200228\r\nDTEND;VALUE=DATE:20200229\r\nCOMMENT:Passer bedre\r\n",
    )
    out = ingest(capsys, counter)
    assert out["action"] == "recorded"
    rows = attendance_rows(capsys)
    assert rows["geir.graff@asker.kommune.no"]["partstat"] == "NEEDS-ACTION"
    assert (
        "proposes 2020-02-28 - 2020-02-29: Passer bedre"
        in rows["geir.graff@asker.kommune.no"]["comment"]
    )
    delegated = calendar_reply(
        tmp_path,
        "delegated",
        'ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO="mailto:kari@asker.kommune.no":'
        "mailto:geir.graff@asker.kommune.no\r\n"
        'ATTENDEE;PARTSTAT=NEEDS-ACTION;DELEGATED-FROM="mailto:geir.graff@asker.kommune.no":'
        "mailto:kari@asker.kommune.no\r\n",
    )
    assert ingest(capsys, delegated)["action"] == "recorded"
    rows = attendance_rows(capsys)
    assert rows["geir.graff@asker.kommune.no"]["partstat"] == "DELEGATED"
    assert rows["kari@asker.kommune.no"]["partstat"] == "NEEDS-ACTION"
    # The delegate's own answer is accepted (DELEGATED-FROM names an invitee).
    raw = delegated.read_bytes().replace(b"<delegated@", b"<delegate-accepts@")
    raw = raw.replace(b"From: Geir Graff <geir.graff@", b"From: Kari <kari@")
    raw = re.sub(
        rb"ATTENDEE;PARTSTAT=DELEGATED.*?\r\n", b"", raw.replace(b"\r\n mailto", b"mailto")
    )
    raw = raw.replace(b"PARTSTAT=NEEDS-ACTION;DELEGATED-FROM", b"PARTSTAT=ACCEPTED;DELEGATED-FROM")
    accept = tmp_path / "accept.eml"
    accept.write_bytes(raw)
    assert ingest(capsys, accept)["action"] == "recorded"
    assert attendance_rows(capsys)["kari@asker.kommune.no"]["partstat"] == "ACCEPTED"
    told = notices()
    assert any("proposes another time" in n for n in told)
    assert any("kari@asker.kommune.no" in n and "delegated" in n for n in told)


def test_reply_without_calendar_part_read_from_subject(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    invite(capsys, "geir.graff@asker.kommune.no")
    invite_id = re.search(rb"Message-ID: (<[^>]+>)", smtp.messages[0].data)
    assert invite_id is not None
    raw = (
        b"From: geir.graff@asker.kommune.no\r\nTo: " + INBOUND.encode() + b"\r\n"
        b"Subject: Godtatt: First ordinary meeting of the Network of Excellence\r\n"
        b"Message-ID: <subject-only@asker.kommune.no>\r\nIn-Reply-To: "
        + invite_id.group(1)
        + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nGodtatt.\r\n"
    )
    path = tmp_path / "subject.eml"
    path.write_bytes(raw)
    assert ingest(capsys, path)["action"] == "recorded"
    assert attendance_rows(capsys)["geir.graff@asker.kommune.no"]["partstat"] == "ACCEPTED"


def test_list_unsubscribe_mailto_works(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", "Hei"])
    capsys.readouterr()
    sent = next(m for m in smtp.messages if m.rcpt_tos == ["geir.graff@asker.kommune.no"])
    assert b"\r\nReply-To: <coordbot@u4ssc.example.org>\r\n" in sent.data
    # Read as a mail client does (the header's folding is bot/delivery/render.py's business).
    header = str(sent.parsed()["List-Unsubscribe"])
    mailto = re.search(r"<mailto:coordbot@u4ssc\.example\.org\?subject=([^>]+)>", header)
    assert mailto is not None
    from urllib.parse import unquote

    subject = unquote(mailto.group(1))
    path = tmp_path / "unsub.eml"
    path.write_bytes(
        (
            f"From: someone.else@asker.kommune.no\r\nTo: {INBOUND}\r\nSubject: {subject}\r\n"
            "Message-ID: <unsub-token@asker.kommune.no>\r\n\r\n"
        ).encode()
    )
    out = ingest(capsys, path)
    assert (out["action"], out["detail"]) == ("unsubscribed", "geir-graff from batch1")


def test_reminder_plan_reports_a_held_address(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", "Hei"])
    capsys.readouterr()
    sent = next(m for m in smtp.messages if m.rcpt_tos == ["geir.graff@asker.kommune.no"])
    orig = re.search(rb"Message-ID: <([^>]+)>", sent.data)
    assert orig is not None
    raw = (
        (FIXTURES / "dsn-postfix.eml")
        .read_bytes()
        .replace(b"@@RETURN_PATH@@", sent.mail_from.encode())
        .replace(b"@@RECIPIENT@@", b"geir.graff@asker.kommune.no")
        .replace(b"@@ORIG_ID@@", orig.group(1))
    )
    path = tmp_path / "dsn.eml"
    path.write_bytes(raw)
    assert ingest(capsys, path)["action"] == "held"
    main(["remind", "plan"])
    plan = capsys.readouterr().out
    assert "not by email: Geir Graff: bounced on 2020-01-15: 550 5.1.1" in plan
    # A coordinator gives the registry another address: reachable again.
    services = build_services(load_config())
    try:
        kari = Sender(COORDINATOR, COORDINATOR, "Kari")
        reply = ChatService(services).message(kari, "/email geir-graff geir@asker.kommune.no")
        assert "geir@asker.kommune.no" in reply.plain_text()
    finally:
        services.close()
    main(["remind", "plan"])
    plan = capsys.readouterr().out
    assert "bounced" not in plan and "Geir Graff (Asker) <geir@asker.kommune.no>" in plan


# --- /attendance in chat ----------------------------------------------------------------------


def _record_answers(services: Services) -> None:
    from bot.calendar.records import record_attempt
    from bot.inbound.process import Processor

    with services.db.session() as session:
        for address in ("geir.graff@asker.kommune.no", "ole.helge.haugen@mrfylke.no"):
            record_attempt(
                session,
                event_key="network-meeting",
                recipient=address,
                name=None,
                sequence=0,
                method="REQUEST",
                status="sent",
                message_id=None,
                now=services.clock.now(),
            )
    Processor(services).handle((FIXTURES / "reply-outlook.eml").read_bytes())


def test_attendance_in_chat_for_coordinators_only(
    monkeypatch: pytest.MonkeyPatch, services: Services
) -> None:
    _record_answers(services)
    monkeypatch.setattr(
        services,
        "config",
        load_config(env={"COORDBOT_TELEGRAM_COORDINATORS": str(COORDINATOR)}),
    )
    chat = ChatService(services)
    kari = Sender(COORDINATOR, COORDINATOR, "Kari", language_code="nb")
    text = chat.message(kari, "/attendance network-meeting").plain_text()
    assert "Geir Graff <geir.graff@asker.kommune.no>: takket ja" in text
    assert "ole.helge.haugen@mrfylke.no>: ikke svart ennå" in text
    ola = Sender(USER, USER, "Ola")
    refused = chat.message(ola, "/attendance network-meeting")
    assert refused.kind == "refused" and "Geir" not in refused.plain_text()
    assert (
        "Usage: /attendance EVENT"
        in chat.message(
            Sender(COORDINATOR, COORDINATOR, "Kari", language_code="en"), "/attendance"
        ).plain_text()
    )


async def test_attendance_on_telegram(api: BotApiStandIn, tg_services: Services) -> None:
    _record_answers(tg_services)
    async with running_telegram(tg_services):
        calls = await exchange(api, message_update(COORDINATOR, "/attendance network-meeting"))
    [text] = texts(calls)
    assert "geir.graff@asker.kommune.no" in text and "accepted" in text


# --- the watcher: polling and reconnecting ------------------------------------------------------


async def test_watcher_polls_without_idle_and_reconnects(
    monkeypatch: pytest.MonkeyPatch, smtp: SmtpTestServer
) -> None:
    try:
        dovecot = DovecotServer().start()
    except DovecotUnavailable as exc:
        pytest.skip(str(exc))
    try:
        for key, value in {
            "COORDBOT_INBOUND_IMAP_HOST": dovecot.host,
            "COORDBOT_INBOUND_IMAP_PORT": str(dovecot.port),
            "COORDBOT_INBOUND_IMAP_SECURITY": "none",
            "COORDBOT_INBOUND_USERNAME": dovecot.user,
            "COORDBOT_INBOUND_PASSWORD": dovecot.password,
        }.items():
            monkeypatch.setenv(key, value)
        services = build_services(load_config())
        watcher = ImapWatcher(services, poll_seconds=0.2)
        # As if the server offered no IDLE: the watcher polls.
        monkeypatch.setattr("bot.inbound.watcher.BACKOFF_START", 0.1)
        import imaplib

        original = imaplib.IMAP4._get_capabilities

        def no_idle(self: imaplib.IMAP4) -> None:
            original(self)
            self.capabilities = tuple(c for c in self.capabilities if c != "IDLE")

        monkeypatch.setattr(imaplib.IMAP4, "_get_capabilities", no_idle)
        await watcher.start()
        try:
            dovecot.append((FIXTURES / "list-mail.eml").read_bytes())
            await _until(lambda: watcher.handled == 1)
            # The server goes away and comes back on the same port: the watcher reconnects.
            dovecot.crash()
            restarted = dovecot.restart()
            restarted.append((FIXTURES / "oof-exchange.eml").read_bytes())
            await _until(lambda: watcher.handled == 2, 30)
            assert watcher.connections >= 2
            assert len(restarted.folder_messages(HANDLED_FOLDER)) == 2
        finally:
            await watcher.stop()
            services.close()
    finally:
        dovecot.stop()


async def _until(predicate: object, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)
