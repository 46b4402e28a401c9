"""Questions and unsubscribe requests by e-mail.

A question from an allowed sender (`bot.directory_access`: `known` = an address in the
registry, which is how approved and linked people are known too; `open` = anyone) is answered
by the same engine as `coordbot ask` and the chat, in the question's language, as a threaded
reply (In-Reply-To, References, "Re:" subject, Auto-Submitted: auto-replied so other robots
do not answer it). An unknown sender under `known` gets no reply at all: the chat would not
answer them either, and a refusal by mail would be backscatter to a possibly forged address.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.answering.model import Answer
from bot.config import Config
from bot.delivery.models import EMAIL
from bot.delivery.outbox import NewMessage
from bot.i18n import gettext
from bot.inbound.parse import Inbound
from bot.mail import HeaderValueError, check_address, mailbox
from bot.registry.data import RegistryData
from bot.subscriptions import ALL_AUDIENCES, Subscription, Subscriptions

REPLY_SOURCE = "mail-reply"
_UNSUBSCRIBE = re.compile(
    r"^\s*(?:re:\s*)?(unsubscribe|meld av|meld meg av|avmeld|stopp)\b\s*(\S*)", re.IGNORECASE
)


def reply_address(config: Config) -> str:
    """The address coordbot answers from: inbound.address, else email.from_address."""
    return config.inbound.address or config.email.from_address


def own_addresses(config: Config) -> set[str]:
    """Every address coordbot sends from (its own mail must never be answered)."""
    found = {config.email.from_address.lower()}
    if config.inbound.address:
        found.add(config.inbound.address.lower())
    return {a for a in found if a}


def sender_allowed(config: Config, data: RegistryData, sender: str) -> bool:
    """Whether the directory answers `sender` by mail under `bot.directory_access`."""
    if config.bot.directory_access == "open":
        return True
    return any(p.email and p.email.strip().lower() == sender for p in data.people)


def _subject(subject: str) -> str:
    subject = subject.strip() or "..."
    return subject if re.match(r"^(re|sv)\s*:", subject, re.IGNORECASE) else f"Re: {subject}"


def build_reply(config: Config, message: Inbound, text: str, now: datetime) -> EmailMessage | None:
    """The threaded reply to `message` with `text` (None when the sender's address cannot
    take a reply)."""
    to = message.header("Reply-To")
    target = message.sender
    if to:
        from email.utils import parseaddr

        target = parseaddr(to)[1].strip().lower() or target
    try:
        check_address(target, "sender address")
        reply = EmailMessage()
        sender = reply_address(config)
        reply["From"] = mailbox(config.email.from_name, sender, "reply address")
        reply["To"] = mailbox(message.sender_name if target == message.sender else "", target)
        reply["Subject"] = _subject(message.subject)[:300]
    except (HeaderValueError, ValueError):
        return None
    reply["Date"] = format_datetime(now)
    reply["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or None)
    if message.message_id:
        reply["In-Reply-To"] = message.message_id
        earlier = re.findall(r"<[^<>\s]+>", message.header("References"))[-10:]
        reply["References"] = " ".join([*earlier, message.message_id])
    # RFC 3834: marks this as an automatic answer, so other responders leave it alone.
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content(text)
    return reply


def answer_text(answer: Answer) -> str:
    """The mail body of an answer: the text, then the suggestions when it asks back."""
    lines = [answer.text]
    if answer.suggestions:
        lines += ["", *(f"- {s}" for s in answer.suggestions)]
    lines += ["", "--", gettext(answer.lang, "coordbot, the U4SSC Norway programme assistant")]
    return "\n".join(lines)


def reply_row(message: Inbound, reply: EmailMessage, address: str) -> NewMessage:
    """The outbox row of a reply (one per inbound message, whatever happens twice)."""
    return NewMessage(
        source_kind=REPLY_SOURCE,
        source_id=message.key,
        channel=EMAIL,
        recipient=address.lower(),
        address=address,
        subject=str(reply.get("Subject", "")),
        body=reply.as_bytes(),
    )


def unsubscribe_request(message: Inbound) -> str | None:
    """For an unsubscribe mail (the List-Unsubscribe mailto: subject), the token it carries
    ("" when none); None when the message is not one."""
    match = _UNSUBSCRIBE.match(message.subject)
    if match is None:
        return None
    return match.group(2)


def unsubscribe_everything(
    session: Session, data: RegistryData, sender: str, now: datetime
) -> list[str]:
    """Stop every e-mail audience for the people with the sender's address; their keys."""
    keys = [p.key for p in data.people if p.email and p.email.strip().lower() == sender]
    for key in keys:
        record_choice(session, key, ALL_AUDIENCES, now)
    return keys


def record_choice(session: Session, subscriber: str, audience: str, now: datetime) -> None:
    """An unsubscribe from `audience` by e-mail, in the caller's transaction."""
    row = session.scalar(
        select(Subscription).where(
            Subscription.subscriber == subscriber,
            Subscription.audience == audience,
            Subscription.channel == EMAIL,
        )
    )
    if row is None:
        session.add(
            Subscription(
                subscriber=subscriber,
                audience=audience,
                channel=EMAIL,
                subscribed=False,
                changed_at=now,
                via="mail",
            )
        )
    else:
        row.subscribed, row.changed_at, row.via = False, now, "mail"


def message_recipient(reply: EmailMessage) -> str:
    """The one address a reply goes to."""
    from email.utils import parseaddr

    return parseaddr(str(reply["To"]))[1]


def unsubscribe_mailto(
    config: Config, subscriptions: Subscriptions, subscriber: str, audience: str
) -> str | None:
    """The `mailto:` for List-Unsubscribe (subject "unsubscribe TOKEN"), or None without an
    inbound address."""
    if not config.inbound.address:
        return None
    token = quote(subscriptions.token(subscriber, audience, EMAIL), safe="")
    return f"mailto:{config.inbound.address}?subject=unsubscribe%20{token}"
