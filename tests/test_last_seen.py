"""The chat records "last seen" without a database write per message: at most one write per
user per minute, changes that matter at once, and everything waiting written at stop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from bot import access
from bot.chat import ChatService, Sender
from bot.chat.service import LastSeenFlush
from bot.clock import FixedClock
from bot.services import Services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

KARI = Sender(41, 41, "Kari", username="kari")


def _stored(services: Services, user_id: int) -> access.ChatUserView:
    user = access.find_chat_user(services.db, user_id)
    assert user is not None
    return user


class _Writes:
    """Counts INSERT and UPDATE statements sent to the database."""

    def __init__(self, services: Services) -> None:
        self.count = 0
        event.listen(services.db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            self.count += 1


def test_a_message_a_second_writes_once_a_minute(services: Services, clock: FixedClock) -> None:
    chat = ChatService(services)
    writes = _Writes(services)
    first = clock.now()
    chat.question(KARI, "who is Bodø's data contact?")  # a new user: written
    after_first = writes.count
    assert after_first >= 1 and _stored(services, 41).last_seen_at == first
    for _ in range(30):
        clock.advance(timedelta(seconds=1))
        reply = chat.question(KARI, "who is Bodø's data contact?")
        assert reply.kind != "error"
    assert writes.count == after_first  # 30 messages, no write
    assert _stored(services, 41).last_seen_at == first
    assert chat.context(KARI).user.last_seen_at == clock.now()  # type: ignore[union-attr]

    clock.advance(timedelta(seconds=30))  # a minute after the stored time: written
    chat.question(KARI, "who is Bodø's data contact?")
    assert writes.count == after_first + 1
    assert _stored(services, 41).last_seen_at == clock.now()
    assert chat.seen.waiting() == 0


def test_changes_that_matter_are_written_at_once(services: Services, clock: FixedClock) -> None:
    seen = access.LastSeen(services.db)
    seen.record(
        telegram_user_id=7, display_name="Ola", username=None, private_chat_id=None, now=clock.now()
    )
    assert _stored(services, 7).chat_id is None  # wrote from a group only
    clock.advance(timedelta(seconds=5))
    user = seen.record(
        telegram_user_id=7, display_name="Ola", username=None, private_chat_id=7, now=clock.now()
    )
    assert user.chat_id == 7 and _stored(services, 7).chat_id == 7  # a private chat opened
    access.mark_blocked(services.db, 7, clock.now())
    clock.advance(timedelta(seconds=5))
    seen.record(
        telegram_user_id=7, display_name="Ola", username=None, private_chat_id=7, now=clock.now()
    )
    assert _stored(services, 7).reachable  # writing privately again undoes the block
    clock.advance(timedelta(seconds=5))
    seen.record(
        telegram_user_id=7, display_name="Ola N", username="ola", private_chat_id=7, now=clock.now()
    )
    stored = _stored(services, 7)
    assert (stored.display_name, stored.username) == ("Ola N", "ola")
    assert stored.last_seen_at == clock.now()
    # Approved elsewhere (the dashboard, another process): the next message sees it at once.
    access.approve(services.db, 7, by=1)
    clock.advance(timedelta(seconds=5))
    user = seen.record(
        telegram_user_id=7, display_name="Ola N", username="ola", private_chat_id=7, now=clock.now()
    )
    assert user.approved and seen.waiting() == 1


async def test_stop_writes_what_is_waiting(services: Services, clock: FixedClock) -> None:
    chat = ChatService(services)
    flush = LastSeenFlush(chat)  # `coordbot run` stops it after the chat (tests/test_app.py)
    chat.question(KARI, "hei")
    clock.advance(timedelta(seconds=20))
    chat.question(KARI, "hei igjen")
    assert _stored(services, 41).last_seen_at == clock.now() - timedelta(seconds=20)
    await flush.start()
    await flush.stop()
    assert _stored(services, 41).last_seen_at == clock.now()
    assert chat.seen.waiting() == 0
    # A flush never moves a stored time back.
    seen = access.LastSeen(services.db)
    seen.record(
        telegram_user_id=41,
        display_name="Kari",
        username="kari",
        private_chat_id=41,
        now=clock.now() + timedelta(seconds=10),
    )
    clock.advance(timedelta(minutes=5))
    access.LastSeen(services.db).record(
        telegram_user_id=41,
        display_name="Kari",
        username="kari",
        private_chat_id=41,
        now=clock.now(),
    )
    assert seen.flush() == 1
    with services.db.session() as session:
        stored = session.scalar(
            select(access.ChatUser.last_seen_at).where(access.ChatUser.telegram_user_id == 41)
        )
    assert stored == clock.now()
