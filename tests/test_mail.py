"""SMTP sending against a real aiosmtpd server on loopback: one connection per batch, 4xx
retried, 5xx reported, dropped connections survived, TLS exactly as configured."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import trustme

from bot.config import EmailConfig
from bot.mail import (
    HeaderValueError,
    MailResult,
    SmtpMailer,
    check_address,
    header_text,
    mailbox,
    send_with_retries,
)
from tests.smtp_server import SmtpTestServer


def _message(number: int, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mailbox("U4SSC Norge", "coordbot@example.org")
    message["To"] = to
    message["Subject"] = f"melding {number} æøå"
    message["Message-ID"] = f"<m{number}@example.org>"
    message.set_content(f"Hei nummer {number}\n")
    return message


def _config(server: SmtpTestServer, **overrides: object) -> EmailConfig:
    values: dict[str, object] = {
        "smtp_host": server.host,
        "smtp_port": server.port,
        "security": server.security,
        "timeout": 10.0,
        "from_address": "coordbot@example.org",
    }
    values.update(overrides)
    return EmailConfig(**values)  # type: ignore[arg-type]


class _Sleeps:
    """An injected sleep that only records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def test_batch_goes_over_one_connection(smtp_server: SmtpTestServer) -> None:
    mailer = SmtpMailer(_config(smtp_server))
    messages = [_message(i, f"person{i}@example.org") for i in range(5)]
    results = await mailer.send_batch(messages)
    assert [r.ok for r in results] == [True] * 5
    assert [r.message_id for r in results] == [f"<m{i}@example.org>" for i in range(5)]
    assert smtp_server.connections == 1
    received = smtp_server.messages
    assert [m.rcpt_tos for m in received] == [[f"person{i}@example.org"] for i in range(5)]
    assert [m.connection for m in received] == [1] * 5
    assert received[2].parsed()["Subject"] == "melding 2 æøå"


async def test_5xx_is_permanent_and_the_rest_still_go(smtp_server: SmtpTestServer) -> None:
    smtp_server.refuse("nobody@example.org", 550, "5.1.1 no such user")
    mailer = SmtpMailer(_config(smtp_server))
    sleeps = _Sleeps()
    messages = [_message(1, "a@example.org"), _message(2, "nobody@example.org")]
    messages.append(_message(3, "b@example.org"))
    results = await send_with_retries(mailer, messages, max_retries=3, backoff=1, sleep=sleeps)
    assert [r.ok for r in results] == [True, False, True]
    refused = results[1]
    assert refused.permanent and refused.code == 550
    assert "no such user" in refused.reason and refused.recipients == ("nobody@example.org",)
    assert sleeps.delays == []  # nothing temporary, nothing retried
    assert [m.rcpt_tos for m in smtp_server.messages] == [["a@example.org"], ["b@example.org"]]
    assert smtp_server.connections == 1


async def test_4xx_is_retried_with_backoff(smtp_server: SmtpTestServer) -> None:
    smtp_server.refuse("busy@example.org", 451, "4.3.0 try later", times=2)
    mailer = SmtpMailer(_config(smtp_server))
    sleeps = _Sleeps()
    messages = [_message(1, "busy@example.org"), _message(2, "calm@example.org")]
    results = await send_with_retries(mailer, messages, max_retries=5, backoff=2, sleep=sleeps)
    assert all(r.ok for r in results)
    assert sleeps.delays == [2, 4]
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        ["calm@example.org"],
        ["busy@example.org"],
    ]


async def test_temporary_failures_stop_after_max_retries(smtp_server: SmtpTestServer) -> None:
    smtp_server.refuse("busy@example.org", 452, "4.2.2 mailbox full")
    mailer = SmtpMailer(_config(smtp_server))
    sleeps = _Sleeps()
    results = await send_with_retries(
        mailer, [_message(1, "busy@example.org")], max_retries=3, backoff=1, sleep=sleeps
    )
    assert len(sleeps.delays) == 3
    assert not results[0].ok and not results[0].permanent and results[0].code == 452


async def test_data_rejection_4xx_then_ok(smtp_server: SmtpTestServer) -> None:
    smtp_server.reject_data(451, "4.3.0 queue full", times=1)
    mailer = SmtpMailer(_config(smtp_server))
    first = await mailer.send_batch([_message(1, "a@example.org")])
    assert not first[0].ok and not first[0].permanent and first[0].code == 451
    sleeps = _Sleeps()
    smtp_server.reject_data(554, "5.6.0 content rejected", times=1)
    results = await send_with_retries(
        mailer, [_message(2, "a@example.org")], max_retries=2, backoff=1, sleep=sleeps
    )
    assert results[0].permanent and results[0].code == 554 and sleeps.delays == []


async def test_dropped_connection_reconnects_for_the_rest(smtp_server: SmtpTestServer) -> None:
    smtp_server.drop_connection("DATA", times=1)
    mailer = SmtpMailer(_config(smtp_server))
    messages = [_message(i, f"p{i}@example.org") for i in range(3)]
    results = await mailer.send_batch(messages)
    assert [r.ok for r in results] == [False, True, True]
    assert not results[0].permanent and "connection lost" in results[0].reason
    assert smtp_server.connections == 2
    sleeps = _Sleeps()
    smtp_server.drop_connection("RCPT", times=1)
    smtp_server.clear()
    results = await send_with_retries(mailer, messages, max_retries=2, backoff=1, sleep=sleeps)
    assert all(r.ok for r in results)
    delivered = sorted(m.rcpt_tos[0] for m in smtp_server.messages)
    assert delivered == ["p0@example.org", "p1@example.org", "p2@example.org"]


async def test_partly_refused_recipients_are_checked_and_only_they_retried(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.refuse("later@example.org", 450, "4.2.1 greylisted", times=1)
    smtp_server.refuse("gone@example.org", 550)
    message = _message(1, "a@example.org, later@example.org")
    mailer = SmtpMailer(_config(smtp_server))
    first = (await mailer.send_batch([message]))[0]
    assert not first.ok and not first.permanent
    assert first.recipients == ("later@example.org",) and first.accepted == ("a@example.org",)
    assert "refused 1 of 2" in first.reason

    smtp_server.clear()
    smtp_server.refuse("later@example.org", 450, "4.2.1 greylisted", times=1)
    sleeps = _Sleeps()
    final = await send_with_retries(mailer, [message], max_retries=2, backoff=1, sleep=sleeps)
    assert final[0].ok and set(final[0].accepted) == {"a@example.org", "later@example.org"}
    # The retry went to the refused address only: nobody got the message twice.
    assert [m.rcpt_tos for m in smtp_server.messages] == [["a@example.org"], ["later@example.org"]]

    mixed = await mailer.send_batch([_message(2, "b@example.org, gone@example.org")])
    assert not mixed[0].ok and mixed[0].permanent and mixed[0].accepted == ("b@example.org",)


async def test_unreachable_server_gives_results_not_exceptions() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.
    mailer = SmtpMailer(
        EmailConfig(
            smtp_host="127.0.0.1", smtp_port=port, security="none", from_address="c@example.org"
        )
    )
    results = await mailer.send_batch([_message(1, "a@example.org"), _message(2, "b@example.org")])
    assert [r.ok for r in results] == [False, False]
    assert all(not r.permanent and "could not connect" in r.reason for r in results)


class _SlowSmtp:
    """A correct but slow SMTP server: every reply comes `delay` seconds late, so each step is
    well inside the per-command timeout while a whole batch is not inside the overall one."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.delivered = 0
        self.server: asyncio.Server | None = None

    async def _reply(self, writer: asyncio.StreamWriter, line: bytes) -> None:
        await asyncio.sleep(self.delay)  # the server's slowness, not a wait in the test
        writer.write(line + b"\r\n")
        await writer.drain()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._reply(writer, b"220 slow.test ESMTP")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    await self._reply(writer, b"250 slow.test")
                elif verb == b"DATA":
                    await self._reply(writer, b"354 go ahead")
                    while (await reader.readline()) not in (b".\r\n", b""):
                        pass
                    self.delivered += 1
                    await self._reply(writer, b"250 2.0.0 queued")
                elif verb == b"QUIT":
                    await self._reply(writer, b"221 bye")
                    break
                else:
                    await self._reply(writer, b"250 OK")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def test_overall_timeout_stops_a_slow_conversation_in_time() -> None:
    slow = _SlowSmtp(delay=0.15)
    server = await asyncio.start_server(slow.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timeout = 1.0
    config = EmailConfig(
        smtp_host="127.0.0.1",
        smtp_port=port,
        security="none",
        timeout=timeout,
        from_address="c@example.org",
    )
    messages = [_message(n, f"n{n}@example.org") for n in range(6)]
    started = time.monotonic()
    try:
        # Without an overall limit the six messages take about 3.9 s.
        results = await asyncio.wait_for(SmtpMailer(config).send_batch(messages), 10)
    finally:
        server.close()
    elapsed = time.monotonic() - started
    assert timeout <= elapsed < timeout + 1.0, elapsed
    assert results[0].ok and slow.delivered >= 1
    late = results[slow.delivered :]
    assert late and all(
        not r.ok and not r.permanent and r.reason == "not sent: the SMTP conversation timed out"
        for r in late
    ), late
    assert [r.message_id for r in results] == [f"<m{n}@example.org>" for n in range(6)]


async def test_a_silent_server_is_given_up_on_within_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never greets

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        config = EmailConfig(
            smtp_host="127.0.0.1",
            smtp_port=port,
            security="none",
            timeout=0.3,
            from_address="c@example.org",
        )
        results = await asyncio.wait_for(
            SmtpMailer(config).send_batch([_message(1, "a@example.org")]), 10
        )
    finally:
        server.close()
    assert time.monotonic() - started < 1.5
    assert not results[0].ok and not results[0].permanent
    assert "timed out" in results[0].reason or "could not connect" in results[0].reason


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throw-away certificate authority for the TLS tests."""
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def starttls_server(server_tls: ssl.SSLContext) -> Iterator[SmtpTestServer]:
    with SmtpTestServer(security="starttls", tls_context=server_tls) as server:
        yield server


async def test_starttls_is_used_when_configured(
    starttls_server: SmtpTestServer, client_tls: ssl.SSLContext
) -> None:
    mailer = SmtpMailer(_config(starttls_server), tls_context=client_tls)
    results = await mailer.send_batch([_message(1, "a@example.org"), _message(2, "b@example.org")])
    assert all(r.ok for r in results), results
    assert len(starttls_server.messages) == 2 and starttls_server.connections == 1


async def test_starttls_refused_by_plain_server_is_not_bypassed(
    smtp_server: SmtpTestServer, client_tls: ssl.SSLContext
) -> None:
    mailer = SmtpMailer(_config(smtp_server, security="starttls"), tls_context=client_tls)
    results = await mailer.send_batch([_message(1, "a@example.org")])
    assert not results[0].ok
    assert smtp_server.messages == []  # never fell back to plain text


async def test_untrusted_certificate_is_refused(starttls_server: SmtpTestServer) -> None:
    mailer = SmtpMailer(_config(starttls_server))  # system CAs do not know the test CA
    results = await mailer.send_batch([_message(1, "a@example.org")])
    assert not results[0].ok and starttls_server.messages == []


async def test_implicit_tls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    with SmtpTestServer(security="tls", tls_context=server_tls) as server:
        mailer = SmtpMailer(_config(server), tls_context=client_tls)
        results = await mailer.send_batch([_message(1, "a@example.org")])
        assert results[0].ok, results
        assert len(server.messages) == 1


def test_header_text_refuses_line_breaks_and_controls() -> None:
    assert header_text('Møte; "ok", 🎉', "subject") == 'Møte; "ok", 🎉'
    for bad in (
        "a\r\nBcc: x@example.org",
        "a\nb",
        "a\rb",
        "a\u2028b",
        "a\x85b",
        "nul\x00",
        "esc\x1b",
        "=?utf-8?q?=0D=0ABcc:_x@example.org?=",
    ):
        with pytest.raises(HeaderValueError):
            header_text(bad, "subject")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("randi. myhre@molde.kommune.no", "contains a space"),
        ("no-at-sign.example.org", "exactly one @"),
        ("a@@example.org", "exactly one @"),
        ("æ@example.org", "non-ASCII"),
        ("a@example.org\r\nBcc: b@example.org", "line break"),
        ("a@-example.org", "not a valid"),
        (".a@example.org", "not a valid"),
        ("", "empty"),
    ],
)
def test_defective_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    with pytest.raises(HeaderValueError, match=reason):
        check_address(address)


def test_mailbox_builds_headerregistry_addresses() -> None:
    address = mailbox('Ola "Nordmann"; Æsir', "ola@example.org")
    message = EmailMessage()
    message["To"] = address
    assert message["To"].addresses[0].display_name == 'Ola "Nordmann"; Æsir'
    assert message["To"].addresses[0].addr_spec == "ola@example.org"
    with pytest.raises(HeaderValueError):
        mailbox("Ola\nBcc: x@example.org", "ola@example.org")


async def test_mail_results_of_a_real_send_fill_every_field(smtp_server: SmtpTestServer) -> None:
    """What callers read from a MailResult, as SmtpMailer fills it in: sent, refused for good,
    refused for now."""
    smtp_server.refuse("gone@example.org", 550, "5.1.1 no such user")
    smtp_server.refuse("busy@example.org", 451, "4.2.0 busy")
    mailer = SmtpMailer(_config(smtp_server))
    sent, gone, busy = await mailer.send_batch(
        [
            _message(1, "a@example.org, b@example.org"),
            _message(2, "gone@example.org"),
            _message(3, "busy@example.org"),
        ]
    )
    assert sent == MailResult(
        "<m1@example.org>",
        ("a@example.org", "b@example.org"),
        True,
        False,
        250,
        "sent",
        ("a@example.org", "b@example.org"),
    )
    assert (gone.message_id, gone.recipients, gone.ok, gone.permanent, gone.code) == (
        "<m2@example.org>",
        ("gone@example.org",),
        False,
        True,
        550,
    )
    assert gone.accepted == () and "5.1.1 no such user" in gone.reason
    assert (busy.ok, busy.permanent, busy.code, busy.accepted) == (False, False, 451, ())
    assert [m.rcpt_tos for m in smtp_server.messages] == [["a@example.org", "b@example.org"]]
