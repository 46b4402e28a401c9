"""The outbox service: idempotent enqueue, claiming with a lease, and recording outcomes.

Every message coordbot sends (reminders, broadcasts, invites) is a row here first. A worker
claims due rows (status `sending`, committed) before it sends, and records the outcome after;
a process that dies in between leaves rows in `sending`, which `release_interrupted` puts back
to `pending`. Those rows are the only ones that can go out twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import logging
import os
import random
import socket
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    Update,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from bot.access import ChatUser
from bot.clock import Clock
from bot.config import DeliveryConfig, parse_duration
from bot.db import Database
from bot.delivery.models import (
    CANCELLED,
    FAILED,
    FINAL_STATUSES,
    PENDING,
    SENDING,
    SENT,
    STATUSES,
    TELEGRAM,
    OutboxMessage,
)

Source = tuple[str, str]
log = logging.getLogger(__name__)
# Rows of this kind tell coordinators about failures; their own failure tells nobody.
NOTICE_SOURCE = "notice"


@dataclass(frozen=True)
class FailedMessage:
    """A message that failed for good, for whoever tells the coordinators."""

    id: int
    source_kind: str
    source_id: str
    channel: str
    recipient_name: str
    address: str
    subject: str | None
    reason: str


FailureListener = Callable[[Sequence[FailedMessage]], None]


def idempotency_key(source_kind: str, source_id: str, recipient: str, channel: str) -> str:
    """A stable key for (source, recipient, channel): the same plan always yields the same key."""
    raw = "\x1f".join((source_kind, source_id, recipient, channel))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewMessage:
    """A message to put in the outbox (rendered: `body` is what will be sent)."""

    source_kind: str
    source_id: str
    channel: str
    recipient: str
    address: str
    body: bytes
    recipient_name: str = ""
    audience: str | None = None
    subject: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    late: bool = False

    @property
    def key(self) -> str:
        """This message's idempotency key."""
        return idempotency_key(self.source_kind, self.source_id, self.recipient, self.channel)


@dataclass(frozen=True)
class Claimed:
    """A row claimed for sending, detached from any session."""

    id: int
    channel: str
    recipient: str
    recipient_name: str
    address: str
    audience: str | None
    body: bytes
    options: dict[str, Any]
    attempts: int
    source_kind: str
    source_id: str
    late: bool


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row.

    kind: "sent"; "retry" (temporary failure: back to pending after `delay` seconds, or the
    backoff when None; `counts` False for a flood wait that is not the message's fault);
    "failed" (permanent, with `unreachable` when the address can no longer be reached);
    "cancelled" (not sent on purpose, e.g. the recipient unsubscribed).
    """

    id: int
    kind: str
    reason: str = ""
    delay: float | None = None
    counts: bool = True
    unreachable: bool = False
    new_address: str | None = None


@dataclass(frozen=True)
class ClaimOwner:
    """Who holds a claim: host, process id and a nonce for this process's life."""

    host: str
    pid: int
    nonce: str

    @classmethod
    def current(cls) -> ClaimOwner:
        """The owner for this process (one per process, so every worker in it shares it)."""
        global _PROCESS_OWNER
        if _PROCESS_OWNER is None or _PROCESS_OWNER.pid != os.getpid():
            _PROCESS_OWNER = cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:12])
        return _PROCESS_OWNER

    @property
    def token(self) -> str:
        """The text stored in `claimed_by`."""
        return f"{self.host}:{self.pid}:{self.nonce}"

    def holder_is_gone(self, token: str | None) -> bool:
        """True when the process named by `token` is known to be dead (same host only)."""
        if not token:
            return True
        host, _, rest = token.partition(":")
        pid_text, _, nonce = rest.partition(":")
        if host != self.host or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == self.pid:
            return nonce != self.nonce  # an earlier process that had our pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


_PROCESS_OWNER: ClaimOwner | None = None


@dataclass(frozen=True)
class Progress:
    """How many rows of one source are in each status, and when the next pending row is due
    (read in one statement, so the two agree)."""

    counts: Mapping[str, int]
    next_due: datetime | None = None

    @property
    def total(self) -> int:
        """All rows."""
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Rows in a final status (sent, failed, cancelled)."""
        return sum(self.counts.get(s, 0) for s in FINAL_STATUSES)

    @property
    def finished(self) -> bool:
        """True when no row is pending or being sent."""
        return self.done == self.total


class Outbox:
    """The outbox over the database; `notify` wakes the workers of this process."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: DeliveryConfig,
        owner: ClaimOwner | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.config = config
        self.owner = owner or ClaimOwner.current()
        self.give_up_after = timedelta(
            seconds=parse_duration(config.give_up_after, "delivery.give_up_after")
        )
        # Jitter spreads the retries of many messages that failed together (an outage).
        self.jitter: Callable[[], float] = random.random
        # Called (outside the transaction) with messages that just failed for good.
        self.failure_listeners: list[FailureListener] = []
        self._listeners: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()
        self._progress_listeners: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()

    # --- waking workers ------------------------------------------------------------------

    def listener(self) -> asyncio.Event:
        """An event set by every `notify` (a worker keeps a reference while it runs)."""
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def notify(self) -> None:
        """Wake every worker of this process: rows were added or changed."""
        for event in list(self._listeners):
            event.set()

    def progress_listener(self) -> asyncio.Event:
        """An event set whenever outcomes are recorded (progress bars, reports, tests)."""
        event = asyncio.Event()
        self._progress_listeners.add(event)
        return event

    # --- writing -----------------------------------------------------------------------

    def enqueue(self, messages: Iterable[NewMessage], session: Session | None = None) -> int:
        """Insert the messages whose idempotency key is new; returns how many were new.

        With `session`, the rows join the caller's transaction (commit, then `notify`).
        """
        now = self._clock.now()
        rows = [
            {
                "idempotency_key": m.key,
                "source_kind": m.source_kind,
                "source_id": m.source_id,
                "channel": m.channel,
                "recipient": m.recipient,
                "recipient_name": m.recipient_name,
                "address": m.address,
                "audience": m.audience,
                "subject": m.subject,
                "body": m.body,
                "options": dict(m.options),
                "late": m.late,
                "status": PENDING,
                "unreachable": False,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for m in messages
        ]
        if not rows:
            return 0
        if session is not None:
            return self._insert_new(session, rows)
        with self._db.session() as own:
            added = self._insert_new(own, rows)
        self.notify()
        return added

    def _insert_new(self, session: Session, rows: list[dict[str, Any]]) -> int:
        dialect = session.get_bind().dialect.name
        # Imported here, not at the top: every command builds an Outbox, and loading the
        # PostgreSQL dialect costs `coordbot ask` about 70 ms on an SQLite database.
        module = "postgresql" if dialect == "postgresql" else "sqlite"
        insert_fn = importlib.import_module(f"sqlalchemy.dialects.{module}").insert
        added = 0
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            stmt = insert_fn(OutboxMessage).on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            )
            # RETURNING counts the inserted rows; rowcount of an executemany is not reliable
            # across drivers (psycopg reports 0 or -1).
            result = session.execute(stmt.returning(OutboxMessage.id), chunk)
            added += len(result.all())
        return added

    def claim(self, channel: str, limit: int, source: Source | None = None) -> list[Claimed]:
        """Claim up to `limit` due pending rows of `channel` (optionally of one source)."""
        now = self._clock.now()
        with self._db.session() as session:
            due = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == PENDING,
                    OutboxMessage.channel == channel,
                    OutboxMessage.next_attempt_at <= now,
                    *_source_filter(source),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            # A CTE, not `id IN (subquery)`: PostgreSQL may run a LIMIT ... SKIP LOCKED subquery
            # more than once inside an UPDATE and so claim more than `limit` rows.
            due_rows = due.cte("due")
            return self._take(
                session, now, OutboxMessage.id == due_rows.c.id, OutboxMessage.status == PENDING
            )

    def claim_keys(self, keys: Sequence[str]) -> list[Claimed]:
        """Claim the rows with these idempotency keys that are pending or failed (due or not):
        a command sending at once takes them over; rows sent or in flight are left alone."""
        if not keys:
            return []
        now = self._clock.now()
        with self._db.session() as session:
            return self._take(
                session,
                now,
                OutboxMessage.idempotency_key.in_(list(keys)),
                OutboxMessage.status.in_([PENDING, FAILED]),
            )

    def _take(
        self, session: Session, now: datetime, *conditions: ColumnElement[bool]
    ) -> list[Claimed]:
        """Mark the rows matching `conditions` as sending under this owner's lease, in id order."""
        stmt = (
            update(OutboxMessage)
            .where(*conditions)
            .values(
                status=SENDING,
                claimed_at=now,
                claimed_by=self.owner.token,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(*_CLAIMED_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        return sorted((Claimed(*row) for row in session.execute(stmt)), key=lambda c: c.id)

    def states_by_key(self, keys: Sequence[str]) -> dict[str, tuple[int, str, str | None]]:
        """(row id, status, last error) of the rows with these idempotency keys."""
        with self._db.session() as session:
            rows = session.execute(
                select(
                    OutboxMessage.idempotency_key,
                    OutboxMessage.id,
                    OutboxMessage.status,
                    OutboxMessage.last_error,
                ).where(OutboxMessage.idempotency_key.in_(list(keys)))
            )
            return {key: (ident, status, error) for key, ident, status, error in rows}

    async def claim_async(
        self, channel: str, limit: int, source: Source | None = None
    ) -> list[Claimed]:
        """`claim` in a worker thread, so the event loop keeps sending meanwhile."""
        return await asyncio.to_thread(self.claim, channel, limit, source)

    def settle(self, outcomes: Sequence[Outcome]) -> None:
        """Record outcomes of claimed rows in one transaction."""
        self._record(outcomes)
        self._after_settle(outcomes)

    async def settle_async(self, outcomes: Sequence[Outcome]) -> None:
        """`settle` with the database work in a worker thread."""
        await asyncio.to_thread(self._record, outcomes)
        self._after_settle(outcomes)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """`settle`'s database work alone, for a caller in a thread of its own (which calls
        `settled` on the event loop afterwards)."""
        self._record(outcomes)

    def writer(self) -> Connection:
        """A connection of its own for `settle_on` (the caller closes it)."""
        return self._db.engine.connect()

    def settle_on(self, connection: Connection, outcomes: Sequence[Outcome]) -> None:
        """`settle`'s database work for a worker that records each message as the server
        accepts it: on a connection the worker keeps for its batch, one short UPDATE and a
        commit per accepted message (a session, or a connection from the pool, for each costs
        more than the UPDATE). Call `settled` on the event loop afterwards."""
        if len(outcomes) == 1 and outcomes[0].kind == "sent":
            params = {"row": outcomes[0].id, "owner": self.owner.token, "now": self._clock.now()}
            try:
                connection.execute(_MARK_ONE_SENT, params)
                connection.commit()
            except Exception:
                with contextlib.suppress(Exception):
                    connection.rollback()  # usable again (or reconnecting) for the next one
                raise
            return
        self._record(outcomes)

    def settled(self, outcomes: Sequence[Outcome]) -> None:
        """Wake whoever waits on outcomes recorded by `settle_on` (on the event loop)."""
        self._after_settle(outcomes)

    def _after_settle(self, outcomes: Sequence[Outcome]) -> None:
        if any(o.kind == "retry" for o in outcomes):
            self.notify()  # rows are pending again: an idle worker must look at their due time
        self._progressed()

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        now = self._clock.now()
        sent = [o.id for o in outcomes if o.kind == "sent"]
        others = [o for o in outcomes if o.kind != "sent"]
        failed: list[FailedMessage] = []
        if not others:
            # The common case (every message accepted): one statement on a plain connection,
            # without a session's bookkeeping.
            with self._db.engine.begin() as connection:
                connection.execute(_MARK_SENT, {"ids": sent, "owner": self.owner.token, "now": now})
            return
        # Only rows still claimed by this process: one released meanwhile (lease) and claimed
        # again elsewhere is not ours to record.
        ours = (OutboxMessage.status == SENDING, OutboxMessage.claimed_by == self.owner.token)
        with self._db.session() as session:
            if sent:
                # The common case in one statement: little Python time while the loop waits
                # for the GIL.
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(sent), *ours)
                    .values(
                        status=SENT, sent_at=now, last_error=None, claimed_at=None, claimed_by=None
                    )
                    .execution_options(synchronize_session=False)
                )
            if others:
                rows = {
                    r.id: r
                    for r in session.scalars(
                        select(OutboxMessage).where(
                            OutboxMessage.id.in_([o.id for o in others]), *ours
                        )
                    )
                }
                for outcome in others:
                    row = rows.get(outcome.id)
                    if row is not None:
                        self._apply(session, row, outcome, now)
                        if row.status == FAILED and row.source_kind != NOTICE_SOURCE:
                            failed.append(
                                FailedMessage(
                                    row.id,
                                    row.source_kind,
                                    row.source_id,
                                    row.channel,
                                    row.recipient_name or row.recipient,
                                    row.address,
                                    row.subject,
                                    row.last_error or "",
                                )
                            )
        if failed:
            for listener in list(self.failure_listeners):
                try:
                    listener(failed)
                except Exception:  # telling is best effort; the failure itself is recorded
                    log.exception("telling the coordinators about failed messages failed")

    def _progressed(self) -> None:
        for event in list(self._progress_listeners):
            event.set()

    def _apply(self, session: Session, row: OutboxMessage, outcome: Outcome, now: datetime) -> None:
        row.claimed_at = None
        row.claimed_by = None
        if outcome.kind == "sent":
            row.status, row.sent_at, row.last_error = SENT, now, None
            return
        row.last_error = outcome.reason[:2000]
        if outcome.new_address:
            row.address = outcome.new_address
        if outcome.kind == "retry":
            if not outcome.counts:
                row.attempts = max(row.attempts - 1, 0)
            # A mail server's rule: keep trying for a lifetime (delivery.give_up_after) counted
            # from when the message was queued, however many attempts that takes.
            age = now - row.created_at
            cap = self.config.max_attempts
            if outcome.counts and (age >= self.give_up_after or (cap > 0 and row.attempts >= cap)):
                row.status = FAILED
                row.last_error = (
                    f"gave up after {row.attempts} attempts in {_span(age)}: {outcome.reason}"
                )[:2000]
                return
            delay = outcome.delay if outcome.delay is not None else self.retry_delay(row.attempts)
            row.status = PENDING
            row.next_attempt_at = now + timedelta(seconds=delay)
        elif outcome.kind == "failed":
            row.status = FAILED
            row.unreachable = outcome.unreachable
            if outcome.unreachable:
                self._mark_unreachable(session, row.channel, row.address, outcome.reason, now)
        elif outcome.kind == "cancelled":
            row.status = CANCELLED
        else:
            raise ValueError(f"unknown outcome {outcome.kind!r}")

    def _mark_unreachable(
        self, session: Session, channel: str, address: str, reason: str, now: datetime
    ) -> None:
        # Only Telegram knows "unreachable" (the user blocked the bot); the chat user's next
        # private message clears it (bot.access.record_chat_user).
        if channel == TELEGRAM and address.lstrip("-").isdigit():
            session.execute(
                update(ChatUser)
                .where(ChatUser.chat_id == int(address), ChatUser.blocked_at.is_(None))
                .values(blocked_at=now)
                .execution_options(synchronize_session=False)
            )

    def backoff(self, attempts: int) -> float:
        """Seconds before retry after `attempts` tries: doubling from the base, capped."""
        base = self.config.backoff_seconds * 2 ** min(max(attempts - 1, 0), 60)
        return float(min(base, self.config.backoff_max_seconds))

    def retry_delay(self, attempts: int) -> float:
        """The backoff with up to a fifth added at random, never beyond the cap."""
        delay = self.backoff(attempts) * (1.0 + 0.2 * self.jitter())
        return float(min(delay, self.config.backoff_max_seconds))

    def release_interrupted(self) -> int:
        """Put rows left in `sending` by a dead process (or past their lease) back to pending."""
        now = self._clock.now()
        expired = now - timedelta(seconds=self.config.lease_seconds)
        released = 0
        with self._db.session() as session:
            for row in session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == SENDING)
            ):
                stale = row.claimed_at is None or row.claimed_at <= expired
                # Our own claims are in flight, unless a crashed worker left them past the lease.
                ours = row.claimed_by == self.owner.token
                if stale or (not ours and self.owner.holder_is_gone(row.claimed_by)):
                    row.status = PENDING
                    row.next_attempt_at = now
                    row.last_error = f"interrupted while sending (claimed by {row.claimed_by})"
                    row.claimed_at = row.claimed_by = None
                    released += 1
        if released:
            self.notify()
        return released

    def release(self, ids: Sequence[int], reason: str) -> None:
        """Give rows this process claimed but did not send back to pending (clean shutdown)."""
        if not ids:
            return
        now = self._clock.now()
        with self._db.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(list(ids)),
                    OutboxMessage.status == SENDING,
                    OutboxMessage.claimed_by == self.owner.token,
                )
                .values(
                    status=PENDING,
                    next_attempt_at=now,
                    attempts=OutboxMessage.attempts - 1,
                    claimed_at=None,
                    claimed_by=None,
                    last_error=reason,
                )
                .execution_options(synchronize_session=False)
            )
        self.notify()
        self._progressed()

    def cancel_pending(self, source_kind: str, source_ids: Iterable[str], reason: str) -> int:
        """Cancel the pending rows of some sources (e.g. reminders of a moved event)."""
        ids = list(source_ids)
        if not ids:
            return 0
        with self._db.session() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == PENDING,
                    OutboxMessage.source_kind == source_kind,
                    OutboxMessage.source_id.in_(ids),
                )
                .values(status=CANCELLED, last_error=reason)
                .execution_options(synchronize_session=False)
            )
        self._progressed()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- reading -----------------------------------------------------------------------

    def next_due(self, channel: str, source: Source | None = None) -> datetime | None:
        """When the earliest pending row of `channel` is due (None: nothing pending)."""
        with self._db.session() as session:
            return session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == PENDING,
                    OutboxMessage.channel == channel,
                    *_source_filter(source),
                )
            )

    def progress(self, source: Source, channels: Sequence[str] | None = None) -> Progress:
        """Rows of one source (on some channels only, if given) by status.

        Read from the two indexes alone, never from the rows: SQLite keeps `status` after
        `body` in the row, so reading it walks every overflow page of a large e-mail (a
        broadcast of 1,000 messages of 70 KB read 70 MB per look at its progress). The rows
        not sent are few and all in `ix_outbox_due` (status, channel, due time); those sent
        are the source's rows (`ix_outbox_source`) less the others."""
        where = _source_filter(source)
        if channels is not None:
            # Read from the rows (the channel is early in them, before the body).
            where.append(OutboxMessage.channel.in_(list(channels)))
        with self._db.session() as session:
            total = session.scalar(select(func.count()).where(*where)) or 0
            rows = session.execute(_unsent(source, channels)).all()
        counts = Counter({status: count for status, count, _due in rows})
        if total - counts.total():
            counts[SENT] = total - counts.total()
        due = next((d for status, _count, d in rows if status == PENDING), None)
        if isinstance(due, datetime) and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)  # min() bypasses the column type on SQLite
        return Progress(dict(counts), due)

    def unsent(self, source: Source, channels: Sequence[str] | None = None) -> Progress:
        """`progress` without the count of rows sent, from ix_outbox_due alone (nothing read
        from the rows): enough to tell whether the source is finished and when it is next due,
        for a caller that looks often."""
        with self._db.session() as session:
            rows = session.execute(_unsent(source, channels)).all()
        counts = {status: count for status, count, _due in rows}
        due = next((d for status, _count, d in rows if status == PENDING), None)
        if isinstance(due, datetime) and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        return Progress(counts, due)

    def rows(self, source: Source) -> list[OutboxMessage]:
        """The rows of one source (detached), in id order."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(OutboxMessage).where(*_source_filter(source)).order_by(OutboxMessage.id)
                )
            )

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` already have a row."""
        wanted = list(keys)
        found: set[str] = set()
        with self._db.session() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(
                    session.scalars(
                        select(OutboxMessage.idempotency_key).where(
                            OutboxMessage.idempotency_key.in_(chunk)
                        )
                    )
                )
        return found


# Built once (statement construction costs more than the UPDATE itself): the rows still
# claimed by `owner` are sent at `now`.
_OUTBOX = cast(Table, OutboxMessage.__table__)


def _mark_sent(rows: ColumnElement[bool]) -> Update:
    return (
        update(_OUTBOX)
        .where(rows, _OUTBOX.c.status == SENDING, _OUTBOX.c.claimed_by == bindparam("owner"))
        .values(
            status=SENT,
            sent_at=bindparam("now", type_=_OUTBOX.c.sent_at.type),
            last_error=None,
            claimed_at=None,
            claimed_by=None,
        )
    )


# Rows by a list of ids; and one row by a plain parameter, not an expanding IN list that is
# rendered again on every execution.
_MARK_SENT = _mark_sent(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
_MARK_ONE_SENT = _mark_sent(_OUTBOX.c.id == bindparam("row"))


def _span(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


# The columns of a Claimed, in its field order.
_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.channel,
    OutboxMessage.recipient,
    OutboxMessage.recipient_name,
    OutboxMessage.address,
    OutboxMessage.audience,
    OutboxMessage.body,
    OutboxMessage.options,
    OutboxMessage.attempts,
    OutboxMessage.source_kind,
    OutboxMessage.source_id,
    OutboxMessage.late,
)


def _unsent(source: Source, channels: Sequence[str] | None) -> Select[str, int, datetime]:
    """Rows of `source` not sent, by status, with the earliest due time: from ix_outbox_due
    (status, channel, due time) and ix_outbox_source alone."""
    of_source = select(OutboxMessage.id).where(*_source_filter(source)).scalar_subquery()
    where = [
        OutboxMessage.status.in_([s for s in STATUSES if s != SENT]),
        # `id + 0`, not `id`: a plain id would let SQLite look each row up by id and read
        # it; this way it only tests the ids it finds in ix_outbox_due.
        (OutboxMessage.id + 0).in_(of_source),
    ]
    if channels is not None:
        where.append(OutboxMessage.channel.in_(list(channels)))
    return (
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.next_attempt_at))
        .where(*where)
        .group_by(OutboxMessage.status)
    )


def _source_filter(source: Source | None) -> list[Any]:
    if source is None:
        return []
    kind, ident = source
    return [OutboxMessage.source_kind == kind, OutboxMessage.source_id == ident]


__all__ = [
    "CANCELLED",
    "FAILED",
    "NOTICE_SOURCE",
    "PENDING",
    "SENDING",
    "SENT",
    "ClaimOwner",
    "Claimed",
    "FailedMessage",
    "NewMessage",
    "Outbox",
    "Outcome",
    "Progress",
    "idempotency_key",
]
