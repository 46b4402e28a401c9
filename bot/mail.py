"""Outgoing e-mail: safe header values, and sending batches over one SMTP connection.

Building a message and sending it are separate: builders return `EmailMessage` objects (or
raise `HeaderValueError`), a `Mailer` sends them and turns every SMTP-level failure into a
`MailResult`, and `send_with_retries` retries the temporary ones.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import EmailConfig
from bot.textnorm import FORMAT_CONTROLS

if TYPE_CHECKING:
    import aiosmtplib

# Every control but tab is refused in header text: CR, LF and the other line breaks because
# they start a new header (CVE-2024-6923: the email package of Python 3.11.7 does not quote
# them on output), the rest because no mail client shows them sensibly. Unicode format
# controls (bidi overrides and isolates, zero-width joiners' relatives) are refused too: they
# let a name or subject display as something other than what it is.
_HEADER_CONTROL = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
# Line and format controls refused in every stored text (registry, chat edits, config): they
# break headers and calendar lines later, or hide what a text says (bidi overrides).
UNICODE_CONTROLS = re.compile(rf"[\x85{FORMAT_CONTROLS}]")
# What str.splitlines() (and so the email package) takes for the end of a line.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*")


# The sender written into messages built while email.from_address is not set (they are held,
# never sent): a mailbox of the reserved .invalid domain, not one that looks real.
UNSET_SENDER = "coordbot@from-address-not-set.invalid"


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


def unicode_control_problem(value: str, what: str) -> str | None:
    """Why `value` may not be stored (a Unicode line separator or bidi/format control), or
    None. The message names the character by its code point, since it is invisible."""
    match = UNICODE_CONTROLS.search(value)
    if match is None:
        return None
    char = match.group()
    kind = "a line separator" if char in "\x85\u2028\u2029" else "an invisible format control"
    return f"{what} contains {kind} (U+{ord(char):04X}); remove it and try again"


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


# Display names are written as words of atext and RFC 2047 encoded words, never as a
# quoted-string: Python 3.11's folding can drop the quotes of a long quoted display name
# (CPython gh-80222), and an unquoted comma or <...> then makes a second mailbox.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+")


class Verbatim(str):
    """A header value written exactly as given (already checked, encoded and folded)."""

    __slots__ = ()


class _VerbatimPolicy(EmailPolicy):
    """The SMTP policy, except that `Verbatim` header values are neither parsed nor refolded.

    Addresses and List-Unsubscribe are written this way: their bytes are what we decided,
    whatever the email package would have made of them (RFC 2047-encoding List-Unsubscribe,
    which RFC 2369 forbids, or dropping quotes around a display name).
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        """Keep Verbatim values as they are."""
        if isinstance(value, Verbatim):
            return (name, value)
        return super().header_store_parse(name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        """Verbatim values come back unchanged."""
        if isinstance(value, Verbatim):
            return value
        return super().header_fetch_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        """Verbatim values as they are, the rest folded by the email package."""
        if isinstance(value, Verbatim):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        """Verbatim values as ASCII bytes, the rest folded by the email package."""
        if isinstance(value, Verbatim):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# The policy every message coordbot writes is built with (CRLF line ends, like policy.SMTP).
MAIL_POLICY = _VerbatimPolicy(linesep="\r\n")


def encode_display_name(name: str) -> str:
    """`name` as a phrase that parses back to exactly `name`: words of atext stay as they are,
    every run of other words (quotes, commas, <...>, non-ASCII) becomes one RFC 2047 base64
    encoded word. Base64 holds only atext, so no parser finds a comma or <...> in it, and no
    two encoded words are ever adjacent (whose separating space parsers treat differently:
    RFC 2047 drops it, Python 3.11's address parser keeps it). Folded between words."""
    if not name:
        return ""
    words = name.split(" ")
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            raw = " ".join(run).encode("utf-8")
            tokens.append("=?utf-8?b?" + base64.b64encode(raw).decode("ascii") + "?=")
            run.clear()

    for word in words:
        if _PLAIN_WORD.fullmatch(word) and not _ENCODED_WORD.search(word):
            flush()
            tokens.append(word)
        else:
            run.append(word)
    flush()
    lines = [""]
    for token in tokens:
        if lines[-1] and len(lines[-1]) + 1 + len(token) > 72:
            lines.append(token)
        else:
            lines[-1] = f"{lines[-1]} {token}" if lines[-1] else token
    return "\r\n ".join(lines)


def address_header(name: str | None, address: str, what: str = "address") -> Verbatim:
    """A From/To/Reply-To value `Name <local@domain>` that always parses back to one mailbox
    with exactly this name and address (see encode_display_name)."""
    check_address(address, what)
    display = " ".join(header_text(name or "", f"name for {address}").split())
    phrase = encode_display_name(display)
    return Verbatim(f"{phrase}\r\n <{address}>" if phrase else f"<{address}>")


def subject_header(text: str, what: str = "subject") -> Verbatim:
    """A Subject (or other unstructured header) that decodes back to exactly `text`: ASCII
    folded at its own spaces, anything else as RFC 2047 base64 encoded words (at most 75
    characters each). Python's folder can leave a space before the fold and so double it
    ("Updated invitation: ... of  Bærekraftsløftet")."""
    header_text(text, what)
    if text.isascii():
        lines = [""]
        for i, word in enumerate(text.split(" ")):
            if i and len(lines[-1]) + 1 + len(word) > 68 and lines[-1].strip():
                lines.append(word)  # the space becomes the fold: CRLF SP
            else:
                lines[-1] = f"{lines[-1]} {word}" if i else word
        return Verbatim("\r\n ".join(lines))
    words: list[str] = []
    chunk = ""
    for char in text:
        if len((chunk + char).encode("utf-8")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    encoded = [
        "=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words
    ]
    return Verbatim("\r\n ".join(encoded))


def list_unsubscribe_header(*urls: str) -> Verbatim:
    """List-Unsubscribe as RFC 2369 wants it: `<URL>, <mailto:...>` unencoded on one line."""
    parts = []
    for url in urls:
        header_text(url, "unsubscribe URL")
        if not url.isascii() or any(c in url for c in ' <>"\t'):
            raise HeaderValueError(f"unsubscribe URL {url!r} must be ASCII without spaces")
        parts.append(f"<{url}>")
    value = ", ".join(parts)
    if len(value) > 900:  # one line of at most 998 octets, header name included
        raise HeaderValueError("the unsubscribe URLs are too long for one header line")
    return Verbatim(value)


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


@dataclass(frozen=True)
class Outgoing:
    """One message as it goes on the wire: the exact RFC 5322 bytes, the envelope sender
    (MAIL FROM; empty: email.from_address) and the envelope recipients."""

    data: bytes
    recipients: tuple[str, ...]
    sender: str = ""
    message_id: str = ""


Sendable = EmailMessage | Outgoing
# Called with (index in the batch, result) as soon as each message has its result; it has
# finished before the next message's DATA goes out (the next envelope may be sent meanwhile),
# so what it records is in place before the server can accept another message.
ResultHook = Callable[[int, MailResult], Awaitable[None]]


class _Reports:
    """Hands each message's result to the hook as it comes, in order. The hook for message i
    runs while message i+1's envelope (MAIL FROM, RCPT TO) is on the wire, and `settled` (before
    every DATA) waits for it: at any time at most one accepted message is not yet reported."""

    def __init__(self, results: list[MailResult | None], hook: ResultHook | None) -> None:
        self.results = results
        self._hook = hook
        self._running: asyncio.Task[None] | None = None

    async def add(self, index: int, result: MailResult) -> None:
        """Note `result`; its report starts once the previous one has finished."""
        self.results[index] = result
        await self.settled()
        if self._hook is not None:
            self._running = asyncio.ensure_future(self._hook(index, result))

    async def settled(self) -> None:
        """Wait until every result so far is reported. A timeout or cancellation of the
        caller does not cancel a report midway (it is a database write): it keeps running
        and the next `settled` waits for it again."""
        task = self._running
        if task is None:
            return
        try:
            await asyncio.shield(task)
        finally:
            if task.done():
                self._running = None


def outgoing(message: Sendable, recipients: Sequence[str] | None = None) -> Outgoing:
    """`message` as wire bytes (an EmailMessage is serialised once, with CRLF line ends)."""
    if isinstance(message, Outgoing):
        if recipients is None:
            return message
        return Outgoing(message.data, tuple(recipients), message.sender, message.message_id)
    rcpts = tuple(recipients) if recipients is not None else message_recipients(message)
    data = message.as_bytes(policy=MAIL_POLICY.clone(linesep="\r\n"))
    return Outgoing(data, rcpts, "", str(message.get("Message-ID", "")))


def stored_message_id(data: bytes) -> str:
    """The Message-ID in stored message bytes (read from the header block, nothing parsed)."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]  # the header block only, not a copy of the body
    match = re.search(rb"(?im)^message-id:[ \t]*(<[^>\r\n]*>)", head)
    return match.group(1).decode("ascii", "replace") if match else ""


class Mailer(Protocol):
    """Sends messages; never raises for SMTP-level failures (they become MailResults).

    `envelopes`, when given, names the recipients of each message (one entry per message);
    otherwise they are taken from the Outgoing or the To/Cc/Bcc headers. `on_result` is
    awaited with each message's result as soon as it is known.
    """

    async def send_batch(
        self,
        messages: Sequence[Sendable],
        envelopes: Sequence[Sequence[str]] | None = None,
        *,
        on_result: ResultHook | None = None,
    ) -> list[MailResult]:
        """Send `messages` in order; one result per message, in the same order."""
        ...


class _Dropped(Exception):
    """The connection is gone; the next message needs a new one."""


class SmtpMailer:
    """A Mailer over aiosmtplib: one connection per batch (reconnecting if the server drops it),
    one attempt per message, TLS exactly as configured (`starttls`, `tls` or `none`).

    The bytes go out as they are (aiosmtplib's MAIL, RCPT and DATA, nothing parsed or serialised
    again); with `email.dkim_*` set, a DKIM-Signature header is put in front of them.
    """

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
        self._dkim_key: bytes | None = None
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

    def _signed(self, data: bytes) -> bytes:
        cfg = self._config
        if not (cfg.dkim_key_file and cfg.dkim_selector and cfg.dkim_domain):
            return data
        if self._dkim_key is None:
            with open(cfg.dkim_key_file, "rb") as handle:
                self._dkim_key = handle.read()
        return dkim_sign(data, cfg.dkim_selector, cfg.dkim_domain, self._dkim_key)

    async def send_batch(
        self,
        messages: Sequence[Sendable],
        envelopes: Sequence[Sequence[str]] | None = None,
        *,
        on_result: ResultHook | None = None,
    ) -> list[MailResult]:
        """Send `messages` over one connection; one MailResult per message, in order."""
        if envelopes is not None and len(envelopes) != len(messages):
            raise ValueError("envelopes must name the recipients of every message")
        wire = [
            outgoing(m, envelopes[i] if envelopes is not None else None)
            for i, m in enumerate(messages)
        ]
        results: list[MailResult | None] = [None] * len(wire)
        reports = _Reports(results, on_result)
        if not self._config.sending_configured:
            # Mail from an address nobody chose bounces or lands in junk: nothing goes out,
            # and the messages wait (temporary) until email.from_address is set.
            for i, out in enumerate(wire):
                await reports.add(i, _failure(out, None, "not sent: email.from_address is not set"))
            await reports.settled()
            return [r for r in results if r is not None]
        try:
            async with asyncio.timeout(self._config.timeout):
                await self._send_all(wire, reports)
        except TimeoutError:
            pass  # the messages not reached yet are reported below
        await reports.settled()
        final: list[MailResult] = []
        for i, (out, result) in enumerate(zip(wire, results, strict=True)):
            if result is None:
                result = _failure(out, None, "not sent: the SMTP conversation timed out")
                await reports.add(i, result)
            final.append(result)
        await reports.settled()
        return final

    async def _send_all(self, wire: Sequence[Outgoing], reports: _Reports) -> None:
        import aiosmtplib

        done = reports.add
        client: aiosmtplib.SMTP | None = None
        try:
            for i, out in enumerate(wire):
                if client is None:
                    try:
                        client = await self._connect()
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        # Without a connection nothing else can go out either; report them all.
                        reason = f"could not connect to {self._config.smtp_host}: {_describe(exc)}"
                        for j in range(i, len(wire)):
                            await done(j, _failure(wire[j], exc, reason))
                        return
                sender = out.sender or self._config.from_address
                try:
                    result = await _send_one(
                        client, out, sender, self._signed(out.data), reports.settled
                    )
                except _Dropped as dropped:
                    result = _failure(out, None, f"connection lost: {dropped}")
                    client.close()
                    client = None
                else:
                    if not client.is_connected:  # e.g. a 421 reply closed it
                        client = None
                await done(i, result)
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


def dkim_sign(data: bytes, selector: str, domain: str, private_key: bytes) -> bytes:
    """`data` with a DKIM-Signature (rsa-sha256, relaxed/relaxed) in front of it."""
    import dkim

    headers = [
        b"From",
        b"To",
        b"Subject",
        b"Date",
        b"Message-ID",
        b"MIME-Version",
        b"Content-Type",
        b"Content-Transfer-Encoding",
        b"List-Unsubscribe",
        b"List-Unsubscribe-Post",
    ]
    signature = dkim.sign(
        data,
        selector.encode("ascii"),
        domain.encode("ascii"),
        private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=headers,
        linesep=b"\r\n",
    )
    return bytes(signature) + data


def _wire_size(data: bytes) -> int:
    """The SIZE (RFC 1870) of `data` as it is transmitted: every line end as CRLF."""
    crlf = data.count(b"\r\n")
    # Bare CR or LF (never in what coordbot writes) each become a CRLF on the wire.
    return len(data) + (data.count(b"\n") - crlf) + (data.count(b"\r") - crlf)


async def _transaction(
    client: aiosmtplib.SMTP,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    before_data: Callable[[], Awaitable[None]],
) -> dict[str, aiosmtplib.SMTPResponse]:
    """aiosmtplib's `sendmail`, with `before_data` awaited between the envelope and DATA.
    Returns the refused recipients (when some were accepted); raises like `sendmail`."""
    import aiosmtplib

    options = [f"SIZE={_wire_size(data)}"] if client.supports_extension("size") else []
    refused: list[aiosmtplib.SMTPRecipientRefused] = []
    try:
        await client.mail(sender, options=options)
        for recipient in recipients:
            try:
                await client.rcpt(recipient)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(exc)
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused, ValueError):
        await _reset(client)
        raise
    await before_data()  # its errors are the caller's (no envelope to keep: QUIT drops it)
    try:
        await client.data(data)
    except aiosmtplib.SMTPResponseException:
        await _reset(client)
        raise
    return {e.recipient: aiosmtplib.SMTPResponse(e.code, e.message) for e in refused}


async def _reset(client: aiosmtplib.SMTP) -> None:
    """RSET after a refusal, so the connection serves the next message (as `sendmail` does)."""
    import aiosmtplib

    with contextlib.suppress(ConnectionError, aiosmtplib.SMTPException):
        await client.rset()


async def _send_one(
    client: aiosmtplib.SMTP,
    out: Outgoing,
    sender: str,
    data: bytes,
    before_data: Callable[[], Awaitable[None]],
) -> MailResult:
    import aiosmtplib

    message_id = out.message_id or stored_message_id(out.data)
    recipients = out.recipients
    if not recipients:
        return MailResult(message_id, (), False, True, None, "the message names no recipient")
    try:
        refused = await _transaction(client, sender, recipients, data, before_data)
    except ValueError as exc:  # an address aiosmtplib will not put on a command line
        return MailResult(message_id, recipients, False, True, None, f"address not usable: {exc}")
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
        return _failure(out, exc, _describe(exc))
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


def _failure(out: Outgoing, exc: BaseException | None, reason: str) -> MailResult:
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) and code > 0 else None
    return MailResult(
        out.message_id or stored_message_id(out.data),
        out.recipients,
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
    messages: Sequence[Sendable],
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
