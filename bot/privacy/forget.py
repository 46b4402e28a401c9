"""Erasing a person: `coordbot person forget PERSON`.

One transaction removes the person from the registry (their row, roles and audience
memberships; the registry generation rises so every process renews its snapshot) and erases
what coordbot kept about them elsewhere, while the numbers the dashboard and reports show stay
right where the rows carry them:

- outbox: their messages keep their row, status and counts; body, address, name and key are
  erased; those not sent yet are cancelled. Messages to others that name them (coordinator
  notices, answers to questions, broadcasts) are emptied once final; queued Telegram ones are
  rewritten; queued e-mails to others go out as they are (counted; retention empties them).
- chat users linked to them, those users' feed tokens and dashboard sessions and links:
  deleted. Subscriptions and unsubscribes of the person and of those chat users: deleted.
- attendance answers and the invite ledger for their address: kept for the counts under a
  random stand-in ("erased-3f9a1c2b"); name, comment and message keys blanked; ledger rows get
  status "erased" so no later update is ever sent to the stand-in.
- address holds and temporary-failure counts for their address: deleted. Inbound messages
  from their address: kept (so a redelivered message is not handled twice) with sender,
  subject and detail erased.
- the audit table and deadline marks: their key and chat ids replaced by "[erased]".
- finally every text column of every table is searched for their name, address and key, and
  each occurrence replaced by "[erased]" (free text such as a broadcast or an audit line).

An address another registry person shares (an office mailbox) is theirs too: data kept by
address is then left alone and only the person's own rows go; likewise a name another person
also has is not searched for in free text. The erasure is recorded in
`registry_edit` as counts, never with the erased name, address or key.
"""

from __future__ import annotations

import email
import email.header
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from bot.access import ChatUser, FeedToken
from bot.calendar.records import CalendarInvite
from bot.dashboard.auth import DashboardLink, DashboardSession
from bot.db import Base, Database
from bot.delivery.models import (
    CANCELLED,
    EMAIL,
    FINAL_STATUSES,
    HELD,
    PENDING,
    SENDING,
    TELEGRAM,
    BroadcastRecord,
    OutboxMessage,
)
from bot.inbound.models import AddressHold, Attendance, InboundMessage, TemporaryFailure
from bot.registry.data import PersonRec, RegistryData
from bot.registry.edits.audit import Actor, RegistryEdit
from bot.registry.marks import DeadlineDone
from bot.registry.store import bump_generation
from bot.registry.tables import AudienceMember, Person, Role
from bot.subscriptions import Subscription, chat_subscriber
from bot.textnorm import fold

log = logging.getLogger(__name__)

ERASED = "[erased]"
# Ledger status of an invite whose recipient was erased: counted, never sent to again.
INVITE_ERASED = "erased"
_BATCH = 500


class ForgetError(ValueError):
    """The person cannot be erased (unknown, or the reference names several)."""


@dataclass(frozen=True)
class PersonMatch:
    """The person a reference names; else the people it could mean (`ambiguous`) or, when it
    names nobody, close names to suggest."""

    person: PersonRec | None
    candidates: tuple[PersonRec, ...] = ()
    ambiguous: bool = False


def resolve_person(data: RegistryData, reference: str) -> PersonMatch:
    """A person by registry key, e-mail address or full name (æøå folded), never by a guess:
    several matches are returned as ambiguous, none with close names as suggestions."""
    from bot.chat.admin import find_person

    wanted = reference.strip()
    if not wanted:
        return PersonMatch(None)
    if wanted in data.person_by_key:
        return PersonMatch(data.person_by_key[wanted])
    if "@" in wanted:
        address = wanted.lower()
        by_mail = tuple(p for p in data.people if (p.email or "").strip().lower() == address)
        return _match(by_mail)
    folded = fold(wanted)
    by_name = tuple(p for p in data.people if folded in (fold(p.name), fold(p.key)))
    if by_name:
        return _match(by_name)
    _none, close = find_person(data, wanted)
    return PersonMatch(None, tuple(close))


def _match(people: tuple[PersonRec, ...]) -> PersonMatch:
    if len(people) == 1:
        return PersonMatch(people[0])
    return PersonMatch(None, people, ambiguous=bool(people))


@dataclass(frozen=True)
class ForgetResult:
    """What was (or, in a dry run, would be) erased: (what, how many) in a fixed order."""

    counts: tuple[tuple[str, int], ...]
    applied: bool

    def summary(self) -> str:
        """The counts as one line, e.g. "person 1, roles 2, ..." (no personal data)."""
        return ", ".join(f"{what} {n}" for what, n in self.counts)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""

    def __init__(self, result: ForgetResult) -> None:
        super().__init__("dry run")
        self.result = result


def forget_person(
    db: Database, person_key: str, *, actor: Actor, now: datetime, apply: bool
) -> ForgetResult:
    """Erase the person with `person_key` everywhere, in one transaction (all or nothing).
    With apply=False the same work is done and rolled back, so the counts are exact."""
    # Reading and decoding every message body takes a while on a large outbox: done first in
    # a read-only transaction, so the erasing one holds its write lock only for a moment.
    with db.session() as session:
        candidates = [row[0] for row in _Eraser(session, person_key).rows_naming_them(None)]
    try:
        with db.session() as session:
            counts = _Eraser(session, person_key).run(candidates)
            result = ForgetResult(tuple(counts.items()), applied=apply)
            if not apply:
                raise _DryRun(result)
            session.add(
                RegistryEdit(
                    at=now.astimezone(UTC),
                    actor=actor.ref[:64],
                    actor_name=actor.name[:200],
                    subject_kind="person",
                    subject_key=ERASED,
                    action="forget",
                    before="-",
                    after=result.summary(),
                )
            )
    except _DryRun as dry:
        return dry.result
    log.warning("person erased by %s: %s", actor.ref, result.summary())
    return result


class _Eraser:
    """The erasure of one person inside one session."""

    def __init__(self, session: Session, person_key: str) -> None:
        self.session = session
        person = session.scalar(select(Person).where(Person.key == person_key))
        if person is None:
            raise ForgetError(f"no person with key {person_key!r} in the registry")
        self.person = person
        self.key = person.key
        self.name = person.name.strip()
        self.address = (person.email or "").strip().lower()
        shared = 0
        if self.address:
            shared = (
                session.scalar(
                    select(func.count())
                    .select_from(Person)
                    .where(
                        func.lower(func.trim(Person.email)) == self.address, Person.id != person.id
                    )
                )
                or 0
            )
        # Data kept by address belongs to everyone with that address: kept while shared.
        self.own_address = self.address if self.address and not shared else ""
        # A namesake keeps the name: free text naming "Geir Graff" may be about them.
        others = session.scalars(select(Person.name).where(Person.id != person.id)).all()
        self.own_name = "" if fold(self.name) in {fold(n) for n in others} else self.name
        users = session.execute(
            select(ChatUser.telegram_user_id, ChatUser.chat_id).where(
                ChatUser.person_key == person_key
            )
        ).all()
        self.user_ids = sorted({int(u) for u, _chat in users})
        self.chat_ids = sorted({int(c) for _u, c in users if c is not None} | set(self.user_ids))
        self.subscribers = [self.key, *(chat_subscriber(u) for u in self.user_ids)]
        self.holders = [f"telegram:{u}" for u in self.user_ids]
        self.stand_in = f"erased-{secrets.token_hex(4)}"
        self.counts: dict[str, int] = {}

    def run(self, candidates: Sequence[int] | None = None) -> dict[str, int]:
        """Erase everything; returns the counts by what was erased. `candidates`: the only
        messages to others that may name the person (found before, outside the transaction)."""
        self._registry()
        self._outbox()
        self._chat()
        self._address_data()
        self._references()
        self._mentions_in_bodies(candidates)
        self.counts["other text fields"] = self._scrub_text_columns()
        return self.counts

    def _count(self, what: str, statement: Any) -> int:
        result = self.session.execute(statement.execution_options(synchronize_session=False))
        n = int(getattr(result, "rowcount", 0) or 0)  # a DML result: CursorResult
        self.counts[what] = self.counts.get(what, 0) + n
        return n

    # --- the registry ---------------------------------------------------------------------

    def _registry(self) -> None:
        person_id = self.person.id
        self.session.expunge(self.person)
        self._count("roles", delete(Role).where(Role.person_id == person_id))
        self._count(
            "audience memberships",
            delete(AudienceMember).where(AudienceMember.person_id == person_id),
        )
        self._count("person", delete(Person).where(Person.id == person_id))
        bump_generation(self.session)

    # --- the outbox -----------------------------------------------------------------------

    def _theirs(self) -> ColumnElement[bool]:
        """Outbox rows addressed to the person (by key, linked chat, or own address)."""
        conditions: list[ColumnElement[bool]] = [OutboxMessage.recipient.in_(self.subscribers)]
        if self.chat_ids:
            chats = [str(c) for c in self.chat_ids]
            conditions.append(
                and_(OutboxMessage.channel == TELEGRAM, OutboxMessage.address.in_(chats))
            )
        if self.own_address:
            conditions.append(
                and_(
                    OutboxMessage.channel == EMAIL,
                    or_(
                        func.lower(OutboxMessage.address) == self.own_address,
                        OutboxMessage.recipient == self.own_address,
                    ),
                )
            )
        return or_(*conditions)

    def _outbox(self) -> None:
        theirs = self._theirs()
        self._count(
            "outbox messages cancelled",
            update(OutboxMessage)
            .where(theirs, OutboxMessage.status.in_((PENDING, SENDING, HELD)))
            .values(status=CANCELLED, last_error="cancelled: the recipient was erased"),
        )
        self._count(
            "outbox messages erased",
            update(OutboxMessage)
            .where(theirs)
            .values(body=b"", address="", recipient=ERASED, recipient_name=""),
        )

    def rows_naming_them(self, among: Sequence[int] | None) -> list[tuple[int, str, str, bytes]]:
        """(id, channel, status, body) of messages to others whose text names the person,
        looked for among the ids `among` (None: every message)."""
        # Bot-written texts to others (a coordinator notice "Mail to ADDRESS bounced", an
        # answer naming them, a broadcast mentioning them) can carry the person; e-mail bodies
        # are MIME encoded, so each is decoded to look.
        patterns = self._patterns()
        chunks: list[Sequence[int] | None] = [None]
        if among is not None:
            chunks = [among[i : i + _BATCH] for i in range(0, len(among), _BATCH)]
        found = []
        for chunk in chunks:
            query = (
                select(
                    OutboxMessage.id,
                    OutboxMessage.channel,
                    OutboxMessage.status,
                    OutboxMessage.body,
                )
                .where(func.length(OutboxMessage.body) > 0, ~self._theirs())
                .order_by(OutboxMessage.id)
                .execution_options(yield_per=_BATCH)
            )
            if chunk is not None:
                query = query.where(OutboxMessage.id.in_(chunk))
            for row_id, channel, status, body in self.session.execute(query):
                if _mentions(_readable(channel, body), patterns):
                    found.append((row_id, channel, status, body))
        return found

    def _mentions_in_bodies(self, candidates: Sequence[int] | None) -> None:
        patterns = self._patterns()
        emptied: list[int] = []
        rewritten: dict[int, bytes] = {}
        pending = 0
        for row_id, channel, status, body in self.rows_naming_them(candidates):
            if status in FINAL_STATUSES:
                emptied.append(row_id)
            elif channel == TELEGRAM:
                # Plain UTF-8 (or Telegram HTML) text: the words can be replaced in place.
                text = body.decode("utf-8", errors="replace")
                for pattern in patterns:
                    text = pattern.sub(ERASED, text)
                rewritten[row_id] = text.encode("utf-8")
            else:
                pending += 1
        for start in range(0, len(emptied), _BATCH):
            chunk = emptied[start : start + _BATCH]
            self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chunk))
                .values(body=b"")
                .execution_options(synchronize_session=False)
            )
        for row_id, new_body in rewritten.items():
            self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(body=new_body)
                .execution_options(synchronize_session=False)
            )
        self.counts["messages to others naming them, emptied"] = len(emptied)
        self.counts["messages to others naming them, rewritten"] = len(rewritten)
        # A queued e-mail to someone else is stored as the exact bytes to send (encoded, with
        # headers): it goes out as it is, and the retention period empties it later.
        self.counts["e-mails to others naming them, left queued"] = pending

    # --- chat users, subscriptions, dashboard ---------------------------------------------

    def _chat(self) -> None:
        self._count("chat users", delete(ChatUser).where(ChatUser.person_key == self.key))
        if self.user_ids:
            self._count(
                "feed tokens",
                delete(FeedToken).where(FeedToken.telegram_user_id.in_(self.user_ids)),
            )
            self._count(
                "dashboard sessions",
                delete(DashboardSession).where(DashboardSession.holder.in_(self.holders)),
            )
            self._count(
                "dashboard links",
                delete(DashboardLink).where(DashboardLink.holder.in_(self.holders)),
            )
        self._count(
            "subscriptions",
            delete(Subscription).where(Subscription.subscriber.in_(self.subscribers)),
        )

    # --- data kept by address -------------------------------------------------------------

    def _address_data(self) -> None:
        address = self.own_address
        if not address:
            return
        self._count(
            "attendance answers anonymised",
            update(Attendance)
            .where(func.lower(Attendance.attendee) == address)
            .values(attendee=self.stand_in, name="", comment="", delegated_to="", message_key=""),
        )
        self._count(
            "attendance delegations erased",
            update(Attendance)
            .where(func.lower(Attendance.delegated_to) == address)
            .values(delegated_to=ERASED),
        )
        self._count(
            "invites anonymised",
            update(CalendarInvite)
            .where(func.lower(CalendarInvite.recipient) == address)
            .values(
                recipient=self.stand_in,
                name=None,
                status=INVITE_ERASED,
                message_id=None,
                reason=None,
            ),
        )
        self._count(
            "address holds", delete(AddressHold).where(func.lower(AddressHold.address) == address)
        )
        self._count(
            "temporary failures",
            delete(TemporaryFailure).where(func.lower(TemporaryFailure.address) == address),
        )
        self._count(
            "inbound messages anonymised",
            update(InboundMessage)
            .where(func.lower(InboundMessage.sender) == address)
            .values(sender=ERASED, subject="", detail="", message_id=None),
        )

    # --- references by key or chat id -----------------------------------------------------

    def _references(self) -> None:
        refs = [self.key, *self.holders]
        self._count(
            "audit entries",
            update(RegistryEdit)
            .where(RegistryEdit.subject_kind == "person", RegistryEdit.subject_key == self.key)
            .values(subject_key=ERASED, before=ERASED, after=ERASED),
        )
        if self.holders:
            self._count(
                "audit entries",
                update(RegistryEdit)
                .where(RegistryEdit.actor.in_(self.holders))
                .values(actor=ERASED, actor_name=ERASED),
            )
        for column in (DeadlineDone.marked_by, BroadcastRecord.created_by):
            for ref in refs:
                pattern = _token(ref)
                table = column.class_
                for row in self.session.scalars(select(table).where(column.contains(ref))):
                    text = getattr(row, column.key)
                    new = pattern.sub(ERASED, text)
                    if new != text:
                        setattr(row, column.key, new)
                        self.counts["marks and broadcasts by them"] = (
                            self.counts.get("marks and broadcasts by them", 0) + 1
                        )
        self.session.flush()
        skipped_ids = {self.key, *self.subscribers}
        changed = 0
        for record in self.session.scalars(select(BroadcastRecord)):
            entries = list(record.skipped or [])
            new_entries = []
            for entry in entries:
                if entry.get("recipient") in skipped_ids:
                    # Kept, so the broadcast's report still counts the member it skipped.
                    entry = {**entry, "recipient": ERASED, "name": ERASED, "reason": ""}
                    changed += 1
                new_entries.append(entry)
            if new_entries != entries:
                record.skipped = new_entries
        self.session.flush()
        self.counts["broadcast report entries"] = changed

    # --- everything else: any text that still names them ----------------------------------

    def _patterns(self) -> list[re.Pattern[str]]:
        patterns = [_token(self.key)]
        if self.own_name:
            name = re.escape(self.own_name)
            patterns.append(re.compile(rf"(?<!\w){name}(?!\w)", re.IGNORECASE))
        if self.own_address:
            patterns.append(re.compile(re.escape(self.own_address), re.IGNORECASE))
        return patterns

    def _needles(self) -> list[str]:
        return [n for n in (self.key, self.own_name, self.own_address) if n]

    def _scrub_text_columns(self) -> int:
        """Replace every remaining occurrence of the name, address or key in any text column
        of any table (primary keys excepted); returns how many fields changed."""
        patterns = self._patterns()
        changed = 0
        for table in Base.metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            if not keys:
                continue
            for column in _text_columns(table):
                found = or_(false(), *(column.ilike(f"%{n}%") for n in self._needles()))
                rows = self.session.execute(select(*keys, column).where(found)).all()
                for row in rows:
                    value = row[-1]
                    new = value
                    for pattern in patterns:
                        new = pattern.sub(ERASED, new)
                    if new == value:
                        continue
                    where = and_(*(k == row[i] for i, k in enumerate(keys)))
                    self.session.execute(update(table).where(where).values({column.name: new}))
                    changed += 1
        return changed


def _text_columns(table: Table) -> Iterable[Any]:
    primary = {c.name for c in table.primary_key.columns}
    for column in table.columns:
        if column.name in primary or isinstance(column.type, LargeBinary):
            continue
        if isinstance(column.type, String | Text):
            yield column


def _token(text: str) -> re.Pattern[str]:
    """`text` as a whole token (a key inside "data_contact: a-b, c-d" or "telegram:12")."""
    return re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])", re.IGNORECASE)


def _mentions(text: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(p.search(text) for p in patterns)


def _readable(channel: str, body: bytes) -> str:
    """A stored body as text to search: Telegram's as it is, an e-mail's decoded (headers and
    every text part), since quoted-printable or base64 hide the words in the raw bytes."""
    raw = body.decode("utf-8", errors="replace")
    if channel != EMAIL:
        return raw
    try:
        # compat32 parsing is some fifteen times faster than the default policy's, which
        # matters when every body of a large outbox is read.
        message = email.message_from_bytes(body)
        parts = [
            str(email.header.make_header(email.header.decode_header(str(value))))
            for value in message.values()
        ]
        for part in message.walk():
            if part.get_content_maintype() == "text":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    charset = part.get_content_charset() or "utf-8"
                    try:
                        parts.append(payload.decode(charset, errors="replace"))
                    except LookupError:  # an unknown charset: the bytes as UTF-8
                        parts.append(payload.decode("utf-8", errors="replace"))
        # A folded header line breaks a name in two.
        return re.sub(r"\r?\n[ \t]+", " ", "\n".join([raw, *parts]))
    except Exception:  # a body that does not parse is still searched as raw text
        return raw
