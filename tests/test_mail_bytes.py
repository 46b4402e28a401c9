"""What arrives at the SMTP server, byte for byte: the stored message exactly (nothing parsed
and serialised again), automated-mail headers, display names that parse back to one mailbox
whatever they hold, Message-IDs in the sender's domain, DKIM signatures that verify, and an
SMTP batch that records each message as soon as the server accepted it."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import getaddresses
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import EmailConfig
from bot.delivery.broadcast import check_request, queue_broadcast, save_draft, source_of
from bot.delivery.component import build_workers
from bot.delivery.email import EmailWorker
from bot.delivery.models import EMAIL
from bot.delivery.pacing import RealPacer
from bot.delivery.render import email_message
from bot.mail import (
    MAIL_POLICY,
    HeaderValueError,
    MailResult,
    Outgoing,
    ResultHook,
    Sendable,
    SmtpMailer,
    address_header,
)
from bot.services import Services
from tests.smtp_server import SmtpTestServer, smtp_env

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
def smtp(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> SmtpTestServer:
    smtp_env(smtp_server, monkeypatch)
    return smtp_server


def _header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"


async def _deliver(services: Services) -> None:
    from bot.delivery.broadcast import deliver_until_finished

    request = check_request(
        services,
        audience="network",
        widen=True,
        channels="email",
        subject="Nettverksmøte 21. februar: sakliste og påmelding",
        text="Hei!\nSakliste følger.",
        created_by="t",
    )
    broadcast = save_draft(services, request)
    queue_broadcast(services, broadcast)
    workers = build_workers(services, telegram=None, mailer=services.mailer, pacer=RealPacer())
    await deliver_until_finished(
        workers, services.outbox, services.clock, source_of(broadcast), give_up_after=30
    )


async def test_broadcast_bytes_arrive_exactly_as_stored_with_automated_headers(
    smtp: SmtpTestServer, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _deliver(services)
    rows = {r.address: r for r in services.outbox.rows(source_of(1))}
    assert smtp.messages and len(smtp.messages) == len(rows)
    for received in smtp.messages:
        row = rows[received.rcpt_tos[0]]
        assert received.data == row.body  # the stored bytes, not a re-serialisation
        assert received.mail_from == "coordbot@u4ssc-norge.example.org"
        head = _header_block(received.data)
        assert b"\r\nAuto-Submitted: auto-generated\r\n" in head
        assert b"\r\nX-Auto-Response-Suppress: OOF, AutoReply\r\n" in head
        assert b"\r\nPrecedence: bulk\r\n" in head
        (line,) = re.findall(rb"\r\nList-Unsubscribe: ([^\r]*)\r\n(?![ \t])", head)
        assert line.startswith(b"<https://kalender.example.org/unsubscribe?token=")
        assert b"=?" not in line and line.endswith(b"subject=unsubscribe>")
        assert re.search(rb"\r\nMessage-ID: <[^@>]+@u4ssc-norge\.example\.org>\r\n", head)


@settings(max_examples=300, deadline=None)
@given(
    name=st.lists(
        st.one_of(
            st.sampled_from(
                ['"', ",", "<", ">", "@", "(", ")", ";", ":", "\\", "æ", "Ø", "å", " ", ".", "é"]
            ),
            st.sampled_from(["Kari", "Nordmann", "evil@example.org", "Bodø", "kommune"]),
            st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp", "Cf")), max_size=6),
        ),
        max_size=30,
    ).map("".join)
)
def test_any_display_name_parses_back_to_exactly_one_mailbox(name: str) -> None:
    message = email.message.EmailMessage(policy=MAIL_POLICY)
    try:
        message["To"] = address_header(name, "kari.nordmann@bodo.kommune.no")
    except HeaderValueError:
        assert "=?" in name  # text shaped like an encoded word is refused
        return
    message["Subject"] = "x"
    raw = message.as_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    (mailbox,) = parsed["To"].addresses
    assert mailbox.addr_spec == "kari.nordmann@bodo.kommune.no"
    assert mailbox.display_name == " ".join(name.split())
    # The old parser (and anything that splits on commas) finds one address too.
    legacy = email.message_from_bytes(raw)
    assert [a for _n, a in getaddresses([str(legacy["To"])])] == ["kari.nordmann@bodo.kommune.no"]


def test_the_long_names_of_gh_80222_stay_one_mailbox() -> None:
    for name in (
        "Kari Nordmann <evil@example.org> " + "long " * 20,
        "Nordmann, Kari (Bodø, data contact for the U4SSC implementation programme in Norway)",
    ):
        raw = email_message(
            EmailConfig(from_address="coordbot@example.org"),
            to_name=name,
            to_address="kari@bodo.kommune.no",
            subject="x",
            text="x",
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert [a.addr_spec for a in parsed["To"].addresses] == ["kari@bodo.kommune.no"]
        assert parsed["To"].addresses[0].display_name == " ".join(name.split())


async def test_dkim_signature_verifies(smtp_server: SmtpTestServer, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    (tmp_path / "dkim.pem").write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    config = EmailConfig(
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        security="none",
        from_address="coordbot@u4ssc.example.org",
        dkim_key_file=str(tmp_path / "dkim.pem"),
        dkim_selector="coordbot",
        dkim_domain="u4ssc.example.org",
    )
    raw = email_message(
        config,
        to_name="Gro Sæten",
        to_address="gro@example.org",
        subject="Påminnelse: frist",
        text="Hei æøå\n",
        now=datetime(2020, 1, 1, tzinfo=UTC),
        unsubscribe_url="https://kalender.example.org/unsubscribe?token=abc",
    )
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        looked_up.append(name)
        return record if name == b"coordbot._domainkey.u4ssc.example.org." else b""

    (result,) = await SmtpMailer(config).send_batch([Outgoing(raw, ("gro@example.org",))])
    assert result.ok
    arrived = smtp_server.messages[0].data
    assert arrived.startswith(b"DKIM-Signature: ") and arrived.endswith(raw)
    assert dkim.verify(arrived, dnsfunc=dns)
    assert looked_up == [b"coordbot._domainkey.u4ssc.example.org."]
    # A changed byte in the body breaks it.
    assert not dkim.verify(arrived.replace(b"Hei", b"Hai"), dnsfunc=dns)


class _Watching:
    """The real SmtpMailer; as each message's result comes in, it notes how many of the
    messages before it the outbox already records as sent."""

    def __init__(self, inner: SmtpMailer, services: Services, source: tuple[str, str]) -> None:
        self._inner = inner
        self._services = services
        self._source = source
        self.recorded_before: list[int] = []

    async def send_batch(
        self,
        messages: Sequence[Sendable],
        envelopes: Sequence[Sequence[str]] | None = None,
        *,
        on_result: ResultHook | None = None,
    ) -> list[MailResult]:
        """Send through the real mailer, watching the outbox between messages."""
        assert on_result is not None

        async def watch(index: int, result: MailResult) -> None:
            rows = await asyncio.to_thread(self._services.outbox.rows, self._source)
            self.recorded_before.append(sum(r.status == "sent" for r in rows))
            await on_result(index, result)

        return await self._inner.send_batch(messages, envelopes, on_result=watch)


async def test_a_batch_records_each_message_as_soon_as_it_is_accepted(
    smtp: SmtpTestServer, services: Services
) -> None:
    request = check_request(
        services,
        audience="network",
        channels="email",
        subject="Møte",
        text="Hei",
        created_by="t",
        widen=True,  # every contact of the member municipalities
    )
    broadcast = save_draft(services, request)
    total = queue_broadcast(services, broadcast)
    assert total >= 4
    mailer = _Watching(SmtpMailer(services.config.email), services, source_of(broadcast))
    worker = EmailWorker(services.outbox, services.clock, RealPacer(), mailer)
    await worker.dispatch(services.outbox.claim(EMAIL, 50))
    assert len(smtp.messages) == total and smtp.connections == 1
    # When message i is answered, every earlier one is already recorded as sent (its record
    # is waited for before message i's DATA): a crash at any point leaves at most one
    # accepted message unrecorded, the one just answered (sent again after a restart).
    assert mailer.recorded_before == list(range(total))
    statuses = {r.status for r in services.outbox.rows(source_of(broadcast))}
    assert statuses == {"sent"}
