"""Telling coordinators: a Telegram message to each `telegram.coordinators` id, through the
outbox (one row per inbound message, notice and coordinator, so a second run adds none)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.config import Config
from bot.delivery.models import TELEGRAM
from bot.delivery.outbox import NewMessage, Outbox

NOTICE_SOURCE = "inbound-notice"


def notice_rows(config: Config, ident: str, text: str) -> list[NewMessage]:
    """One outbox row per coordinator for notice `ident`."""
    return [
        NewMessage(
            source_kind=NOTICE_SOURCE,
            source_id=ident[:300],
            channel=TELEGRAM,
            recipient=f"coordinator:{user_id}",
            address=str(user_id),
            body=text.encode("utf-8"),
        )
        for user_id in config.telegram.coordinators
    ]


def tell_coordinators(
    outbox: Outbox, session: Session, config: Config, ident: str, text: str
) -> int:
    """Queue `text` to every coordinator in the caller's transaction; how many rows were new."""
    rows = notice_rows(config, ident, text)
    return outbox.enqueue(rows, session=session) if rows else 0
