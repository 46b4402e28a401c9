"""Leader election (bot.leader): on PostgreSQL one instance at a time holds the advisory lock
and runs the leader's parts; when its connection dies another takes over at its next try. On
SQLite every instance leads. The rounds are stepped by hand (the gates' own loop sleeps for
ever here), so nothing waits on a timer."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.config import Config
from bot.leader import LeaderGate, PostgresLeadership, SingleInstance, leadership_for
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both
on_postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="advisory locks are PostgreSQL's (COORDBOT_TEST_POSTGRES=1)"
)


class Part:
    """A leader-only part that records whether it runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.running = False
        self.starts = 0

    async def start(self) -> None:
        """Begin running."""
        self.running = True
        self.starts += 1

    async def stop(self) -> None:
        """Stop running."""
        self.running = False


async def _never(_seconds: float) -> None:
    """The gates' sleep: the test steps them itself."""
    await asyncio.Event().wait()


def _terminate_lock_holder(url: str) -> int:
    """End the session holding an advisory lock, as PostgreSQL does when its process dies."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
            connection.commit()
            return int(ended)
    finally:
        engine.dispose()


async def test_on_sqlite_every_instance_leads_from_the_start(config: Config) -> None:
    if ON_POSTGRES:
        assert isinstance(leadership_for(config.database_url), PostgresLeadership)
        return
    leadership = leadership_for(config.database_url)
    assert isinstance(leadership, SingleInstance)
    part = Part("reminders")
    gate = LeaderGate([part], leadership, interval=5.0, sleep=_never)
    await gate.start()
    try:
        assert gate.leader and part.running
        await gate.step()
        assert part.running and part.starts == 1
    finally:
        await gate.stop()
    assert not part.running


@on_postgres_only
async def test_the_advisory_lock_is_held_by_one_connection_at_a_time(config: Config) -> None:
    first, second = PostgresLeadership(config.database_url), PostgresLeadership(config.database_url)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held() and not await second.still_held()
        await first.release()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()


@on_postgres_only
async def test_when_the_leader_dies_the_one_standing_by_takes_over(config: Config) -> None:
    parts_a, parts_b = [Part("reminders"), Part("mailbox")], [Part("reminders"), Part("mailbox")]
    url = config.database_url
    gate_a = LeaderGate(parts_a, PostgresLeadership(url), interval=1.0, sleep=_never)
    gate_b = LeaderGate(parts_b, PostgresLeadership(url), interval=1.0, sleep=_never)
    await gate_a.start()
    await gate_b.start()
    try:
        assert gate_a.leader and all(p.running for p in parts_a)
        assert not gate_b.leader and not any(p.running for p in parts_b)
        await gate_b.step()  # still standing by while the leader lives
        assert not gate_b.leader

        # The leader's session ends (its process died, or its connection broke).
        assert await asyncio.to_thread(_terminate_lock_holder, url) == 1
        await gate_b.step()
        assert gate_b.leader and all(p.running for p in parts_b)
        # The old leader, if it still runs, finds out at its next round and stands by.
        await gate_a.step()
        assert not gate_a.leader and not any(p.running for p in parts_a)
        await gate_a.step()
        assert not gate_a.leader
    finally:
        await gate_a.stop()
        await gate_b.stop()
    # A clean stop gives the lock up at once.
    standby = PostgresLeadership(url)
    try:
        assert await standby.try_acquire()
    finally:
        await standby.release()


@on_postgres_only
async def test_a_part_that_cannot_start_gives_the_lock_up(config: Config) -> None:
    class Broken(Part):
        async def start(self) -> None:
            raise OSError("mailbox unreachable")

    url = config.database_url
    holder = PostgresLeadership(url)
    assert await holder.try_acquire()
    good = Part("reminders")
    gate = LeaderGate([good, Broken("mailbox")], PostgresLeadership(url), interval=1, sleep=_never)
    await gate.start()  # standing by: the lock is taken
    try:
        await holder.release()
        await gate.step()  # takes the lock, fails to start, gives it up again
        assert not gate.leader and not good.running
        other = PostgresLeadership(url)
        try:
            assert await other.try_acquire()
        finally:
            await other.release()
    finally:
        await gate.stop()
