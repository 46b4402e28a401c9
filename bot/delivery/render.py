"""Rendering messages for the outbox: Telegram HTML (escaped) and complete e-mails.

User text never reaches markup or a header unchecked: Telegram text is HTML-escaped, and
e-mail headers are built through bot.mail (which refuses CR, LF and other controls).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from bot.config import EmailConfig
from bot.mail import header_text, mailbox

TELEGRAM_LIMIT = 4096


def utf16_len(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def telegram_html(title: str | None, lines: Sequence[str]) -> str:
    """A Telegram HTML message: an optional bold title, then the lines, all escaped."""
    parts = [f"<b>{html.escape(title, quote=False)}</b>"] if title else []
    parts.extend(html.escape(line, quote=False) for line in lines)
    return "\n".join(parts)


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
    auto_submitted: bool = False,
) -> bytes:
    """A complete plain-text e-mail (RFC 5322 bytes, CRLF line ends).

    With `unsubscribe_url` it carries List-Unsubscribe and List-Unsubscribe-Post (RFC 8058
    one-click); `auto_submitted` marks machine-made mail such as reminders (RFC 3834).
    """
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = mailbox(config.from_name, config.from_address, "from_address")
    message["To"] = mailbox(to_name, to_address, "recipient address")
    message["Subject"] = header_text(subject, "subject")
    message["Date"] = format_datetime(now)
    domain = config.from_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    if list_id:
        message["List-Id"] = header_text(list_id, "list id")
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{header_text(unsubscribe_url, 'unsubscribe URL')}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if auto_submitted:
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()
