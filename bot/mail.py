"""Outgoing e-mail: safe header values, and sending batches over one SMTP connection.

Building a message and sending it are separate: builders return `EmailMessage` objects (or
raise `HeaderValueError`), a `Mailer` sends them and turns every SMTP-level failure into a
`MailResult`, and `send_with_retries` retries the temporary ones.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses
from typing import TYPE_CHECKING, Protocol

from bot.config import EmailConfig

if TYPE_CHECKING:
    import aiosmtplib

# Every control but tab is refused in header text: CR, LF and the other line breaks because
# they start a new header (CVE-2024-6923: the email package of Python 3.11.7 does not quote
# them on output), the rest because no mail client shows them sensibly.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# What str.splitlines() (and so the email package) takes for the end of a line.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*")


class HeaderValueError(ValueError):
    """A value that must not be put into a mail header (line break, control, bad address)."""


# Text shaped like an RFC 2047 encoded word is written out as it is, and every mail reader then
# decodes it into something else (possibly a line break): refused, like a raw line break.
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[qQbB]\?.*?\?=", re.DOTALL)


def header_text(value: str, what: str) -> str:
    """Return `value` unchanged if it is safe as header text; raise HeaderValueError if not."""
    match = _HEADER_CONTROL.search(value)
    if match is not None:
        kind = "a line break" if match.group() in _LINE_BREAKS else "a control character"
        raise HeaderValueError(f"{what} contains {kind}: {value!r}")
    if _ENCODED_WORD.search(value):
        raise HeaderValueError(f"{what} contains an RFC 2047 encoded word: {value!r}")
    return value


def check_address(address: str, what: str = "address") -> str:
    """Return the address if it is a plain ASCII addr-spec (local@domain); raise
    HeaderValueError with the reason otherwise (spaces, missing @, non-ASCII, ...)."""
    header_text(address, what)
    if not address:
        raise HeaderValueError(f"{what} is empty")
    if not address.isascii():
        raise HeaderValueError(f"{what} {address!r} has non-ASCII characters (not supported)")
    if " " in address or "\t" in address:
        raise HeaderValueError(f"{what} {address!r} contains a space")
    if address.count("@") != 1:
        raise HeaderValueError(f"{what} {address!r} must contain exactly one @")
    if len(address) > 254 or not _ADDR_SPEC.fullmatch(address):
        raise HeaderValueError(f"{what} {address!r} is not a valid e-mail address")
    return address


def mailbox(name: str | None, address: str, what: str = "address") -> Address:
    """An `Address` for a header, built through email.headerregistry from checked parts."""
    check_address(address, what)
    # Runs of blanks (tabs included) become one space: headers fold and unfold on whitespace.
    display = " ".join(header_text(name or "", f"name for {address}").split())
    try:
        return Address(display_name=display, addr_spec=address)
    except (ValueError, IndexError) as exc:  # headerregistry raises its defects as ValueError
        raise HeaderValueError(f"{what} {address!r} is not usable: {exc}") from None


def message_recipients(message: EmailMessage) -> tuple[str, ...]:
    """The envelope recipients a message's To/Cc/Bcc headers name."""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return tuple(addr for _name, addr in getaddresses(fields) if addr)


@dataclass(frozen=True)
class MailResult:
    """What happened to one message. For a partly refused message `recipients` are the refused
    addresses (the ones a retry goes to) and `accepted` the ones the server took."""

    message_id: str
    recipients: tuple[str, ...]
    ok: bool
    permanent: bool
    code: int | None
    reason: str
    accepted: tuple[str, ...] = ()


class Mailer(Protocol):
    """Sends messages; never raises for SMTP-level failures (they become MailResults).

    `envelopes`, when given, names the recipients of each message (one entry per message);
    otherwise they are taken from the To/Cc/Bcc headers.
    """

    async def send_batch(
        self,
        messages: Sequence[EmailMessage],
        envelopes: Sequence[Sequence[str]] | None = None,
        senders: Sequence[str | None] | None = None,
    ) -> list[MailResult]:
        """Send `messages` in order; one result per message, in the same order. `senders`
        gives each message's envelope sender (None: the From address)."""
        ...


class _Dropped(Exception):
    """The connection is gone; the next message needs a new one."""


class SmtpMailer:
    """A Mailer over aiosmtplib: one connection per batch (reconnecting if the server drops it),
    one attempt per message, TLS exactly as configured (`starttls`, `tls` or `none`)."""

    def __init__(
        self,
        config: EmailConfig,
        *,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._config = config
        # A custom context lets tests (and private-CA deployments) trust their own CA.
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self.connections_opened = 0

    def _client(self) -> aiosmtplib.SMTP:
        import aiosmtplib

        cfg = self._config
        return aiosmtplib.SMTP(
            hostname=cfg.smtp_host,
            port=cfg.smtp_port,
            username=cfg.username or None,
            password=cfg.password or None,
            timeout=cfg.timeout,
            use_tls=cfg.security == "tls",
            # True means required: an explicit STARTTLS that fails if the server does not offer
            # it, never a silent fall-back to plain text.
            start_tls=cfg.security == "starttls",
            tls_context=self._tls_context,
            local_hostname=self._local_hostname,
        )

    async def send_batch(
        self,
        messages: Sequence[EmailMessage],
        envelopes: Sequence[Sequence[str]] | None = None,
        senders: Sequence[str | None] | None = None,
    ) -> list[MailResult]:
        """Send `messages` over one connection; one MailResult per message, in order."""
        if envelopes is not None and len(envelopes) != len(messages):
            raise ValueError("envelopes must name the recipients of every message")
        results: list[MailResult | None] = [None] * len(messages)
        try:
            async with asyncio.timeout(self._config.timeout):
                await self._send_all(messages, envelopes, results, senders)
        except TimeoutError:
            pass  # the messages not reached yet are reported below
        return [
            result
            if result is not None
            else _failure(
                msg,
                _recipients(msg, envelopes, i),
                None,
                "not sent: the SMTP conversation timed out",
            )
            for i, (msg, result) in enumerate(zip(messages, results, strict=True))
        ]

    async def _send_all(
        self,
        messages: Sequence[EmailMessage],
        envelopes: Sequence[Sequence[str]] | None,
        results: list[MailResult | None],
        senders: Sequence[str | None] | None = None,
    ) -> None:
        import aiosmtplib

        client: aiosmtplib.SMTP | None = None
        try:
            for i, message in enumerate(messages):
                recipients = _recipients(message, envelopes, i)
                if client is None:
                    try:
                        client = await self._connect()
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        # Without a connection nothing else can go out either; report them all.
                        reason = f"could not connect to {self._config.smtp_host}: {_describe(exc)}"
                        for j in range(i, len(messages)):
                            results[j] = _failure(
                                messages[j], _recipients(messages[j], envelopes, j), exc, reason
                            )
                        return
                try:
                    sender = senders[i] if senders is not None else None
                    results[i] = await _send_one(client, message, recipients, sender)
                except _Dropped as dropped:
                    results[i] = _failure(message, recipients, None, f"connection lost: {dropped}")
                    client.close()
                    client = None
                else:
                    if not client.is_connected:  # e.g. a 421 reply closed it
                        client = None
        finally:
            if client is not None:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        await client.connect()
        self.connections_opened += 1
        return client


async def _send_one(
    client: aiosmtplib.SMTP,
    message: EmailMessage,
    recipients: tuple[str, ...],
    sender: str | None = None,
) -> MailResult:
    import aiosmtplib

    message_id = str(message.get("Message-ID", ""))
    if not recipients:
        return MailResult(message_id, (), False, True, None, "the message names no recipient")
    try:
        refused, _reply = await client.send_message(
            message, sender=sender, recipients=list(recipients)
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [e.code for e in exc.recipients]
        detail = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
        return MailResult(
            message_id,
            tuple(e.recipient for e in exc.recipients),
            False,
            all(c >= 500 for c in codes),
            max(codes) if codes else None,
            f"recipient refused: {detail}",
        )
    except aiosmtplib.SMTPResponseException as exc:
        # aiosmtplib has already sent RSET, so the connection (if still open) is reusable.
        return _failure(message, recipients, exc, _describe(exc))
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
        raise _Dropped(_describe(exc)) from None
    except aiosmtplib.SMTPException as exc:
        raise _Dropped(_describe(exc)) from None
    if refused:
        # Partly refused: the server took the message for some recipients only.
        accepted = tuple(r for r in recipients if r not in refused)
        codes = [resp.code for resp in refused.values()]
        detail = "; ".join(f"{addr}: {resp.code} {resp.message}" for addr, resp in refused.items())
        return MailResult(
            message_id,
            tuple(refused),
            False,
            all(c >= 500 for c in codes),
            max(codes),
            f"refused {len(refused)} of {len(recipients)} recipients: {detail}",
            accepted,
        )
    return MailResult(message_id, recipients, True, False, 250, "sent", recipients)


def _recipients(
    message: EmailMessage, envelopes: Sequence[Sequence[str]] | None, index: int
) -> tuple[str, ...]:
    if envelopes is not None:
        return tuple(envelopes[index])
    return message_recipients(message)


def _failure(
    message: EmailMessage,
    recipients: tuple[str, ...],
    exc: BaseException | None,
    reason: str,
) -> MailResult:
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) and code > 0 else None
    return MailResult(
        str(message.get("Message-ID", "")),
        recipients,
        False,
        code is not None and code >= 500,
        code,
        reason,
    )


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{code} {text}" if isinstance(code, int) and code > 0 else str(text)


Backoff = float | Callable[[int], float]


def backoff_delay(backoff: Backoff, attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based): doubling from a base, capped
    at five minutes, or whatever a callable backoff says."""
    if callable(backoff):
        return backoff(attempt)
    return min(backoff * 2 ** (attempt - 1), 300.0)


async def send_with_retries(
    mailer: Mailer,
    messages: Sequence[EmailMessage],
    *,
    max_retries: int,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> list[MailResult]:
    """Send `messages`, retrying temporary failures (4xx, dropped connection, timeout) up to
    `max_retries` times with backoff; one final result per message, in order.

    A partly refused message is retried only to the recipients that were refused.
    """
    results = await mailer.send_batch(messages)
    for attempt in range(1, max_retries + 1):
        again = [i for i, r in enumerate(results) if not r.ok and not r.permanent and r.recipients]
        if not again:
            break
        await sleep(backoff_delay(backoff, attempt))
        retried = await mailer.send_batch(
            [messages[i] for i in again], [results[i].recipients for i in again]
        )
        for i, result in zip(again, retried, strict=True):
            earlier = results[i].accepted
            results[i] = _merge_accepted(result, earlier)
    return results


def _merge_accepted(result: MailResult, earlier: tuple[str, ...]) -> MailResult:
    if not earlier:
        return result
    accepted = tuple(dict.fromkeys(earlier + result.accepted))
    return MailResult(
        result.message_id,
        result.recipients,
        result.ok,
        result.permanent,
        result.code,
        result.reason,
        accepted,
    )
