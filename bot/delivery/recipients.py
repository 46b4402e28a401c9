"""Who a message can reach, on which channel, and why not.

A registry person is reachable by e-mail at their registry address (if it is a usable
address) and on Telegram once a chat user is linked to them (bot.access) and has not blocked
the bot. Chat users who subscribed to an audience on Telegram are reached there too.
Unsubscribed members are left out and reported as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from bot.access import ChatUser
from bot.db import Database
from bot.delivery.models import EMAIL, TELEGRAM
from bot.delivery.outbox import Claimed
from bot.inbound.bounces import held_addresses
from bot.mail import HeaderValueError, check_address
from bot.registry.data import PersonRec
from bot.subscriptions import Subscriptions

UNREACHABLE = "unreachable"
UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class Recipient:
    """One person (or chat subscriber) on one channel, with the address to use."""

    key: str
    name: str
    channel: str
    address: str
    lang: str
    person: PersonRec | None = None


@dataclass(frozen=True)
class Skip:
    """A member who gets no message on a channel, and why."""

    key: str
    name: str
    channel: str
    kind: str  # UNREACHABLE or UNSUBSCRIBED
    reason: str

    def as_json(self) -> dict[str, str]:
        """As stored in BroadcastRecord.skipped."""
        return {
            "recipient": self.key,
            "name": self.name,
            "channel": self.channel,
            "kind": self.kind,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, str]) -> Skip:
        """Back from BroadcastRecord.skipped."""
        return cls(
            value["recipient"], value["name"], value["channel"], value["kind"], value["reason"]
        )


@dataclass(frozen=True)
class Reach:
    """Recipients and the members left out."""

    recipients: list[Recipient]
    skipped: list[Skip]


@dataclass(frozen=True)
class ChatLink:
    """A chat user as delivery sees them."""

    telegram_user_id: int
    chat_id: int | None
    name: str
    language: str | None
    blocked: bool


def chat_links(db: Database) -> tuple[dict[str, ChatLink], dict[int, ChatLink]]:
    """Chat users by linked person key (most recently seen wins) and by Telegram user id."""
    by_person: dict[str, ChatLink] = {}
    by_user: dict[int, ChatLink] = {}
    with db.session() as session:
        for row in session.scalars(select(ChatUser).order_by(ChatUser.last_seen_at)):
            link = ChatLink(
                row.telegram_user_id,
                row.chat_id,
                row.display_name,
                row.language,
                row.blocked_at is not None,
            )
            by_user[row.telegram_user_id] = link
            if row.person_key:
                by_person[row.person_key] = link
    return by_person, by_user


def email_problem(address: str | None) -> str | None:
    """Why an address cannot be used for sending (None: it can)."""
    if not address:
        return "no e-mail address in the registry"
    try:
        check_address(address, "e-mail address")
    except HeaderValueError as exc:
        return str(exc)
    return None


def _telegram_problem(link: ChatLink | None) -> str | None:
    if link is None:
        return "not linked to a Telegram chat"
    if link.blocked:
        return "blocked the bot on Telegram"
    if link.chat_id is None:
        return "has no private chat with the bot"
    return None


def resolve(
    db: Database,
    subscriptions: Subscriptions,
    people: Sequence[PersonRec],
    channels: Iterable[str],
    *,
    audience: str | None,
    default_lang: str,
    include_chat_subscribers: bool = True,
    defects: Mapping[str, str] | None = None,
) -> Reach:
    """Recipients among `people` on `channels` (plus chat users subscribed to `audience` on
    Telegram); everyone left out is in `skipped` with the reason. `defects` (person key ->
    reason, from bot.registry.quality.email_defects) names addresses with an error-level
    finding: mail to them would bounce, so they are unreachable by e-mail."""
    defects = defects or {}
    channels = tuple(channels)
    by_person, by_user = chat_links(db)
    # Addresses that bounced stay unreachable until the registry has another one.
    held = held_addresses(db) if EMAIL in channels else {}
    opted_out = {c: subscriptions.opted_out(audience, c) if audience else set() for c in channels}
    recipients: list[Recipient] = []
    skipped: list[Skip] = []
    for person in people:
        for channel in channels:
            if person.key in opted_out[channel]:
                skipped.append(Skip(person.key, person.name, channel, UNSUBSCRIBED, "unsubscribed"))
                continue
            if channel == EMAIL:
                problem = email_problem(person.email)
                if person.email and (problem is not None or person.key in defects):
                    problem = f"address defective: {defects.get(person.key) or problem}"
                if problem is None:
                    # A permanent bounce puts the address on hold until the registry changes it.
                    problem = held.get((person.email or "").lower())
                if problem is None:
                    assert person.email is not None
                    recipients.append(
                        Recipient(
                            person.key,
                            person.name,
                            EMAIL,
                            person.email,
                            person.language or default_lang,
                            person,
                        )
                    )
                    continue
            else:
                link = by_person.get(person.key)
                problem = _telegram_problem(link)
                if problem is None and link is not None:
                    recipients.append(
                        Recipient(
                            person.key,
                            person.name,
                            TELEGRAM,
                            str(link.chat_id),
                            person.language or link.language or default_lang,
                            person,
                        )
                    )
                    continue
            skipped.append(Skip(person.key, person.name, channel, UNREACHABLE, problem or ""))
    if audience and include_chat_subscribers and TELEGRAM in channels:
        members = {p.key for p in people}
        linked_chats = {r.address for r in recipients if r.channel == TELEGRAM}
        for key in sorted(subscriptions.opted_in(audience, TELEGRAM) - members):
            user_id = key.removeprefix("chat:")
            link = by_user.get(int(user_id)) if user_id.isdigit() else None
            problem = _telegram_problem(link)
            if problem is not None or link is None:
                skipped.append(
                    Skip(key, link.name if link else key, TELEGRAM, UNREACHABLE, problem or "")
                )
            elif str(link.chat_id) not in linked_chats:
                recipients.append(
                    Recipient(
                        key, link.name, TELEGRAM, str(link.chat_id), link.language or default_lang
                    )
                )
    return Reach(recipients, skipped)


def screen_rows(
    db: Database, subscriptions: Subscriptions, rows: Sequence[Claimed]
) -> dict[int, str]:
    """Claimed rows that must not go out now: the recipient unsubscribed since the row was
    queued, or blocked the bot. Returns row id -> reason."""
    refused: dict[int, str] = {}
    triples = {(r.recipient, r.audience, r.channel) for r in rows if r.audience}
    gone = subscriptions.unsubscribed_among((s, a, c) for s, a, c in triples if a)
    for row in rows:
        if row.audience and (row.recipient, row.audience, row.channel) in gone:
            refused[row.id] = UNSUBSCRIBED
    if any(r.channel == EMAIL for r in rows):
        held = held_addresses(db)
        for row in rows:
            reason = held.get(row.address.lower()) if row.channel == EMAIL else None
            # A row queued before its address bounced; the invite ledger's own rows too.
            if reason and row.id not in refused and row.source_kind != "mail-reply":
                refused[row.id] = f"{UNREACHABLE}: {reason}"
    chats = {int(r.address) for r in rows if r.channel == TELEGRAM and r.id not in refused}
    if chats:
        with db.session() as session:
            blocked = set(
                session.scalars(
                    select(ChatUser.chat_id).where(
                        ChatUser.chat_id.in_(chats), ChatUser.blocked_at.is_not(None)
                    )
                )
            )
        for row in rows:
            if row.channel == TELEGRAM and row.id not in refused and int(row.address) in blocked:
                refused[row.id] = f"{UNREACHABLE}: blocked the bot on Telegram"
    return refused
