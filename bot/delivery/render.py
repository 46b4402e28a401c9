"""Rendering messages for the outbox: Telegram HTML (escaped) and complete e-mails.

User text never reaches markup or a header unchecked: Telegram text is HTML-escaped, and
e-mail headers are built through bot.mail (which refuses CR, LF and other controls).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from bot.config import EmailConfig
from bot.mail import (
    MAIL_POLICY,
    UNSET_SENDER,
    address_header,
    header_text,
    list_unsubscribe_header,
    subject_header,
)

TELEGRAM_LIMIT = 4096


def utf16_len(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def telegram_html(title: str | None, lines: Sequence[str]) -> str:
    """A Telegram HTML message: an optional bold title, then the lines, all escaped."""
    parts = [f"<b>{html.escape(title, quote=False)}</b>"] if title else []
    parts.extend(html.escape(line, quote=False) for line in lines)
    return "\n".join(parts)


def automated_headers(message: EmailMessage, *, bulk: bool = False) -> None:
    """Mark mail as machine-made: no out-of-office or auto-reply should answer it (RFC 3834
    Auto-Submitted; Exchange's X-Auto-Response-Suppress), and bulk mail as bulk."""
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    if bulk:
        message["Precedence"] = "bulk"


def message_id(config: EmailConfig) -> str:
    """A new Message-ID in the domain of email.from_address."""
    return make_msgid(domain=config.sender_domain)


def email_message(
    config: EmailConfig,
    *,
    to_name: str,
    to_address: str,
    subject: str,
    text: str,
    now: datetime,
    list_id: str | None = None,
    unsubscribe_url: str | None = None,
    auto_submitted: bool = True,
    bulk: bool = False,
    reply_to: str | None = None,
    unsubscribe_mailto: str | None = None,
) -> bytes:
    """A complete plain-text e-mail (RFC 5322 bytes, CRLF line ends), sent as these bytes.

    With `unsubscribe_url` it carries List-Unsubscribe (one unencoded line: the https URL and
    a mailto: to the sender) and List-Unsubscribe-Post (RFC 8058 one-click). Every message is
    marked as automated; `bulk` (broadcasts) adds Precedence: bulk.
    """
    message = EmailMessage(policy=MAIL_POLICY)
    sender = config.from_address or UNSET_SENDER
    message["From"] = address_header(config.from_name, sender, "from_address")
    message["To"] = address_header(to_name, to_address, "recipient address")
    if reply_to:
        message["Reply-To"] = address_header(None, reply_to, "reply-to address")
    message["Subject"] = subject_header(subject.strip())
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(config)
    if list_id:
        message["List-Id"] = header_text(list_id, "list id")
    if unsubscribe_url:
        mailto = unsubscribe_mailto or f"mailto:{sender}?subject=unsubscribe"
        message["List-Unsubscribe"] = list_unsubscribe_header(unsubscribe_url, mailto)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if auto_submitted:
        automated_headers(message, bulk=bulk)
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()
