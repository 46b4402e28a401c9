"""Who gets which invite, sending it, and the ledger that makes a re-run send nothing twice.

`prepare_invites` decides recipients and builds one message per recipient (never a BCC
blast); `send_invites` sends a prepared batch through a `Mailer` and records every outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select

from bot.calendar.invites import Invitee, Method, Organizer, build_invite
from bot.calendar.records import (
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SENT,
    invites_for_event,
    recipient_key,
    record_attempt,
)
from bot.delivery.direct import invite_message, send_now
from bot.delivery.recipients import email_problem
from bot.mail import UNSET_SENDER, HeaderValueError, Mailer
from bot.registry.data import EventRec, RegistryData
from bot.registry.quality import email_defects
from bot.registry.store import bump_generation
from bot.registry.tables import Event
from bot.services import Services
from bot.textnorm import fold

RETRY_BACKOFF_SECONDS = 2.0


class InviteError(ValueError):
    """An invite request that cannot be carried out (unknown event or audience, a REQUEST for
    a cancelled event, a registry that changed meanwhile); the message says why."""


@dataclass(frozen=True)
class InviteOutcome:
    """What happened (or would happen) for one recipient."""

    address: str
    name: str | None
    status: str  # ready | sent | already-sent | failed | skipped
    reason: str
    method: str
    sequence: int
    message_id: str | None = None
    permanent: bool = False
    code: int | None = None


@dataclass
class InviteBatch:
    """Invites for one event: the messages ready to go and what was skipped, and why."""

    event: EventRec
    method: Method
    cancel_in_registry: bool
    ready: list[tuple[Invitee, EmailMessage]] = field(default_factory=list)
    outcomes: list[InviteOutcome] = field(default_factory=list)

    @property
    def sequence(self) -> int:
        """The SEQUENCE every message of the batch carries."""
        return self.event.sequence


def organizer_of(services: Services) -> Organizer:
    """The sending mailbox from [email] and the organizer's name from [calendar]."""
    # Without email.from_address nothing is sent; a printed invite then names a mailbox of
    # the reserved .invalid domain rather than one that looks real (coordbot@localhost).
    return Organizer(
        address=services.config.email.from_address or UNSET_SENDER,
        from_name=services.config.email.from_name,
        organizer_name=services.config.calendar.organizer_name,
        reply_address=services.config.inbound.address,
    )


def find_event(data: RegistryData, key: str) -> EventRec:
    """The event with `key`; InviteError naming the known keys if there is none."""
    ev = data.event_by_key.get(key)
    if ev is None:
        known = ", ".join(sorted(data.event_by_key))
        raise InviteError(f"no event {key!r}; events: {known}")
    return ev


def find_audience_key(data: RegistryData, text: str) -> str:
    """An audience's key from its key, name or alias (æøå folded); InviteError if unknown."""
    wanted = fold(text)
    for a in data.audiences:
        if wanted in {fold(a.key), fold(a.name_en), fold(a.name_nb), *map(fold, a.aliases)}:
            return a.key
    known = ", ".join(a.key for a in data.audiences)
    raise InviteError(f"no audience {text!r}; audiences: {known}")


def prepare_invites(
    services: Services,
    event_key: str,
    *,
    to: str | None = None,
    audience: str | None = None,
    cancel: bool = False,
    lang: str | None = None,
    skip_sent: bool = True,
) -> InviteBatch:
    """Build the messages for `event_key` to one address or to every member of an audience.

    An audience run also reaches everyone an earlier invite for the event went to, so a changed
    or cancelled event reaches all who hold the old one. `skip_sent` leaves out recipients the
    ledger says already have this SEQUENCE. A CANCEL for an event the registry has not cancelled
    is built as the cancellation would be (SEQUENCE + 1); `send_invites` then records the
    cancellation in the database so feeds agree.
    """
    if (to is None) == (audience is None):
        raise InviteError("give exactly one of a recipient address or an audience")
    data = services.registry.snapshot()
    # Each invitee reads the invite in their registry language unless --lang says otherwise
    # (the invite texts know en and nb: nynorsk readers get bokmål there).
    languages = {recipient_key(p.email): p.language for p in data.people if p.email}
    default_lang = services.config.bot.default_language

    def lang_of(address: str) -> str:
        chosen = lang or languages.get(recipient_key(address)) or default_lang
        return "en" if chosen == "en" else "nb"

    ev = find_event(data, event_key)
    cancel_in_registry = False
    if cancel and not ev.cancelled:
        ev = dataclasses.replace(ev, cancelled=True, sequence=ev.sequence + 1)
        cancel_in_registry = True
    elif not cancel and ev.cancelled:
        raise InviteError(
            f"event {event_key!r} is cancelled in the registry; send the cancellation with --cancel"
        )
    method: Method = "CANCEL" if cancel else "REQUEST"
    batch = InviteBatch(ev, method, cancel_in_registry)

    with services.db.session() as session:
        ledger = [
            (r.recipient, r.name, r.sequence, r.method, r.status)
            for r in invites_for_event(session, ev.key)
        ]
    invitees, skipped = _recipients(data, ledger, to=to, audience=audience)
    batch.outcomes.extend(
        InviteOutcome(address, name, "skipped", reason, method, ev.sequence)
        for address, name, reason in skipped
    )
    sent_now = {r for r, _n, seq, _m, st in ledger if st == STATUS_SENT and seq == ev.sequence}
    had_request = {r for r, _n, _s, m, st in ledger if st == STATUS_SENT and m == "REQUEST"}
    organizer = organizer_of(services)
    now = services.clock.now()
    for invitee in invitees:
        key = recipient_key(invitee.address)
        if skip_sent and key in sent_now:
            batch.outcomes.append(
                InviteOutcome(
                    invitee.address,
                    invitee.name,
                    "already-sent",
                    f"already sent at SEQUENCE {ev.sequence}",
                    method,
                    ev.sequence,
                )
            )
            continue
        try:
            message = build_invite(
                data,
                ev,
                invitee,
                organizer,
                method=method,
                now=now,
                lang=lang_of(invitee.address),
                update=key in had_request,
            )
        except HeaderValueError as exc:
            batch.outcomes.append(
                InviteOutcome(
                    invitee.address,
                    invitee.name,
                    "failed",
                    str(exc),
                    method,
                    ev.sequence,
                    permanent=True,
                )
            )
            continue
        batch.ready.append((invitee, message))
        batch.outcomes.append(
            InviteOutcome(
                invitee.address,
                invitee.name,
                "ready",
                "ready to send",
                method,
                ev.sequence,
                message_id=str(message["Message-ID"]),
            )
        )
    return batch


def _recipients(
    data: RegistryData,
    ledger: list[tuple[str, str | None, int, str, str]],
    *,
    to: str | None,
    audience: str | None,
) -> tuple[list[Invitee], list[tuple[str, str | None, str]]]:
    """Invitees (one per address) and the people skipped, with the reason."""
    names = {recipient_key(p.email): p.name for p in data.people if p.email}
    if to is not None:
        address = to.strip()
        return [Invitee(address, names.get(recipient_key(address)))], []
    assert audience is not None
    members = data.audience_members(find_audience_key(data, audience))
    invitees: dict[str, Invitee] = {}
    skipped: list[tuple[str, str | None, str]] = []
    defects = email_defects(data)
    for person in members:
        if not person.email:
            skipped.append(("", person.name, "no e-mail address in the registry"))
            continue
        problem = email_problem(person.email)
        if problem is not None or person.key in defects:
            # An invite there would bounce: reported, not sent.
            reason = f"address defective: {defects.get(person.key) or problem}"
            skipped.append((person.email, person.name, reason))
            continue
        invitees.setdefault(recipient_key(person.email), Invitee(person.email.strip(), person.name))
    for address, name, _seq, _method, status in ledger:
        if status == STATUS_SENT:
            invitees.setdefault(address, Invitee(address, name))
    return list(invitees.values()), skipped


async def send_invites(
    services: Services,
    batch: InviteBatch,
    mailer: Mailer,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> list[InviteOutcome]:
    """Send a prepared batch over one connection (retrying temporary failures), record each
    recipient in the ledger, and return every outcome (skipped ones included)."""
    now = services.clock.now().astimezone(UTC)
    ev = batch.event
    if batch.cancel_in_registry:
        _cancel_in_registry(services, ev.key, ev.sequence, now)
    failed_to_build = [o for o in batch.outcomes if o.status == "failed"]
    with services.db.session() as session:
        for outcome in failed_to_build:
            if outcome.address:
                record_attempt(
                    session,
                    event_key=ev.key,
                    recipient=outcome.address[:320],
                    name=outcome.name,
                    sequence=ev.sequence,
                    method=batch.method,
                    status=STATUS_FAILED,
                    message_id=None,
                    now=now,
                    reason=outcome.reason,
                )
        for invitee, message in batch.ready:
            # Written before sending: if the process dies mid-send the row says "pending" and a
            # re-run sends it again (a repeated UID+SEQUENCE is harmless to calendars).
            record_attempt(
                session,
                event_key=ev.key,
                recipient=invitee.address,
                name=invitee.name,
                sequence=ev.sequence,
                method=batch.method,
                status=STATUS_PENDING,
                message_id=str(message["Message-ID"]),
                now=now,
            )
    # Like every send, through the outbox (bot.delivery.direct): rows written, sent, settled.
    items = [
        (
            invite_message(ev.key, ev.sequence, batch.method, inv.address, inv.name, message),
            message,
        )
        for inv, message in batch.ready
    ]
    results = (
        await send_now(
            services.outbox,
            items,
            mailer,
            max_retries=services.config.email.max_retries,
            backoff=RETRY_BACKOFF_SECONDS,
            sleep=sleep,
        )
        if items
        else []
    )
    finished = services.clock.now().astimezone(UTC)
    sent: dict[str, InviteOutcome] = {}
    with services.db.session() as session:
        for (invitee, message), result in zip(batch.ready, results, strict=True):
            status = STATUS_SENT if result.ok else STATUS_FAILED
            record_attempt(
                session,
                event_key=ev.key,
                recipient=invitee.address,
                name=invitee.name,
                sequence=ev.sequence,
                method=batch.method,
                status=status,
                message_id=result.message_id or str(message["Message-ID"]),
                now=finished,
                code=result.code,
                reason=result.reason,
            )
            sent[recipient_key(invitee.address)] = InviteOutcome(
                invitee.address,
                invitee.name,
                status,
                result.reason,
                batch.method,
                ev.sequence,
                message_id=result.message_id,
                permanent=result.permanent,
                code=result.code,
            )
    return [
        sent.get(recipient_key(o.address), o) if o.status == "ready" else o for o in batch.outcomes
    ]


def _cancel_in_registry(services: Services, key: str, sequence: int, now: datetime) -> None:
    """Mark the event cancelled with the SEQUENCE the CANCEL messages carry."""
    with services.db.session() as session:
        row = session.scalars(select(Event).where(Event.key == key)).one_or_none()
        if row is None:
            raise InviteError(f"event {key!r} is no longer in the registry")
        if not row.cancelled:
            if row.sequence + 1 != sequence:
                raise InviteError(f"event {key!r} changed meanwhile; run the command again")
            row.cancelled = True
            row.sequence = sequence
            row.updated_at = now
            bump_generation(session)
        elif row.sequence != sequence:
            raise InviteError(f"event {key!r} changed meanwhile; run the command again")
    services.registry.invalidate()
