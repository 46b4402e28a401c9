"""The outbox's retention period (`delivery.retention_days`).

A message that was delivered, failed for good or was cancelled keeps its row (status, channel,
source, times, attempts), so delivery counts and broadcast reports stay right; after
`retention_days` its body, address and recipient name are erased, and the address is taken out
of its error text. The age counts from `sent_at` for delivered messages and from when the
message was queued for the others. 0 days keeps everything forever.

`coordbot run` purges once an hour (bot.delivery.component), `coordbot outbox purge` at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select, update

from bot.db import Database
from bot.delivery.models import FINAL_STATUSES, OutboxMessage

PURGE_EVERY = timedelta(hours=1)
ERASED = "[erased]"


def cutoff(now: datetime, days: int) -> datetime | None:
    """The moment before which final messages are purged, or None when kept forever."""
    return now - timedelta(days=days) if days > 0 else None


def _expired(before: datetime) -> ColumnElement[bool]:
    age_from = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    return and_(
        OutboxMessage.status.in_(FINAL_STATUSES),
        age_from < before,
        # Rows purged already are left alone, so a second run changes nothing.
        (func.length(OutboxMessage.body) > 0) | (OutboxMessage.address != ""),
    )


def count_expired(db: Database, now: datetime, days: int) -> int:
    """How many final messages are older than the retention period and not yet purged."""
    before = cutoff(now, days)
    if before is None:
        return 0
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(OutboxMessage).where(_expired(before)))
            or 0
        )


def purge_expired(db: Database, now: datetime, days: int) -> int:
    """Erase body, address and recipient name of final messages older than `days` days (the
    row, its status and its counts stay); returns how many messages were purged."""
    before = cutoff(now, days)
    if before is None:
        return 0
    with db.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(_expired(before))
            .values(
                body=b"",
                address="",
                recipient_name="",
                # SET reads the row as it was, so the address is still there to remove.
                last_error=func.replace(OutboxMessage.last_error, OutboxMessage.address, ERASED),
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)  # a DML result: CursorResult
