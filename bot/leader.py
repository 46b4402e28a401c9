"""Leader election: the parts of `coordbot run` that must run in one instance at a time.

The reminder scheduler and the mailbox watcher run only in the leader. On PostgreSQL the leader
is the instance holding a session-level advisory lock (pg_try_advisory_lock) on a connection
of its own, kept open for the leader's life. A process that dies drops that connection and
PostgreSQL frees the lock at once; an instance standing by tries again every
`bot.leader_retry_seconds` and starts the leader's parts when it gets it. The leader checks its
connection as often: one that broke (network, server restart) means the lock is gone, so it
stops its parts and stands by again.

On SQLite (one machine, one file) every instance is the leader: running two `coordbot run` on
one SQLite file is not a supported set-up, and the firing of reminders is idempotent anyway.

Advisory locks belong to one database, so two deployments sharing a PostgreSQL server (each
with its own database) elect their leaders independently.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from bot.lifecycle import Component

log = logging.getLogger("coordbot.leader")

# One 64-bit advisory lock key for "coordbot's leader", the same in every instance and release.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"coordbot leader").digest()[:8], "big", signed=True)


class Leadership(Protocol):
    """A lock only one instance can hold at a time."""

    description: str

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; True if this instance holds it now."""
        ...

    async def still_held(self) -> bool:
        """True while the lock this instance took is still its own."""
        ...

    async def release(self) -> None:
        """Give the lock up (if held) and close what it holds open."""
        ...


class SingleInstance:
    """Leadership on a one-machine database (SQLite): always the leader."""

    description = "single instance (SQLite): always the leader"

    async def try_acquire(self) -> bool:
        """Always True."""
        return True

    async def still_held(self) -> bool:
        """Always True."""
        return True

    async def release(self) -> None:
        """Nothing to release."""


class PostgresLeadership:
    """A PostgreSQL session advisory lock on a dedicated connection (not from the pool, so no
    other work ever runs on it and closing it is certain to free the lock)."""

    description = "PostgreSQL advisory lock"

    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self._engine = create_engine(url, poolclass=NullPool)
        self._key = key
        self._connection: Connection | None = None
        self._held = False

    async def try_acquire(self) -> bool:
        """pg_try_advisory_lock on the dedicated connection (opened if need be)."""
        return await asyncio.to_thread(self._try_acquire)

    async def still_held(self) -> bool:
        """A round trip on the lock's connection: while it is alive the lock is ours."""
        return await asyncio.to_thread(self._still_held)

    async def release(self) -> None:
        """Close the connection (which frees the lock) and the engine."""
        await asyncio.to_thread(self._close)
        self._engine.dispose()

    def _try_acquire(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
                # The server notices a silently vanished peer (a leader's machine lost from the
                # network) within about 25 s by TCP keepalives, and frees the lock. No effect on
                # a Unix socket, where a dead process is noticed at once.
                for setting in ("tcp_keepalives_idle = 10", "tcp_keepalives_interval = 5"):
                    self._connection.execute(text(f"SET {setting}"))
                self._connection.execute(text("SET tcp_keepalives_count = 3"))
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar_one()
        except Exception as exc:
            log.warning("could not ask PostgreSQL for the leader lock: %s", exc)
            self._close()
            return False
        self._held = bool(got)
        return self._held

    def _still_held(self) -> bool:
        if self._connection is None or not self._held:
            return False
        try:
            self._connection.execute(text("SELECT 1")).scalar_one()
        except Exception as exc:
            log.warning("the leader lock's connection failed: %s", exc)
            self._close()
            return False
        return True

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._held = False
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def leadership_for(database_url: str) -> Leadership:
    """The PostgreSQL lock for a PostgreSQL database, else a single instance."""
    if database_url.startswith("postgresql"):
        return PostgresLeadership(database_url)
    return SingleInstance()


class LeaderGate:
    """Component: runs `parts` only while this instance is the leader.

    At start it tries once, so a lone instance starts its parts before `coordbot run` goes on
    (the chat starts last and finds them running). Then it tries (or, as leader, checks) every
    `interval` seconds; `sleep` is injected so tests step the loop without waiting."""

    name = "leader election"

    def __init__(
        self,
        parts: Sequence[Component],
        leadership: Leadership,
        *,
        interval: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._parts = list(parts)
        self._leadership = leadership
        self._interval = interval
        self._sleep = sleep
        self._running: list[Component] = []
        self._task: asyncio.Task[None] | None = None
        self.leader = False

    @property
    def part_names(self) -> str:
        """The names of the parts only the leader runs."""
        return ", ".join(p.name for p in self._parts) or "nothing"

    async def start(self) -> None:
        """Try to lead once, then keep trying (or checking) in the background. A part that
        fails to start here fails `coordbot run`'s start, as it would without the gate."""
        try:
            await self.step(raise_errors=True)
        except BaseException:
            await self._stand_down()
            await self._leadership.release()
            raise
        if not self.leader:
            log.info(
                "standing by: another instance is the leader (it runs %s); trying every %gs",
                self.part_names,
                self._interval,
            )
        self._task = asyncio.create_task(self._loop(), name="leader election")

    async def stop(self) -> None:
        """Stop the loop and the parts, then give the lock up."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._stand_down()
        await self._leadership.release()

    async def step(self, *, raise_errors: bool = False) -> None:
        """One round: a follower tries to take the lock, a leader checks it still has it."""
        if self.leader:
            if not await self._leadership.still_held():
                log.warning("lost the leader lock: stopping %s and standing by", self.part_names)
                await self._stand_down()
            return
        if not await self._leadership.try_acquire():
            return
        log.info(
            "became the leader (%s): starting %s", self._leadership.description, self.part_names
        )
        self.leader = True
        try:
            for part in self._parts:
                await part.start()
                self._running.append(part)
                log.info("started %s", part.name)
        except Exception:
            if raise_errors:
                raise
            # A part that cannot start must not leave this instance holding the lock with
            # half its duties: give it up so that another instance can try.
            log.exception("starting the leader's parts failed; giving the lock up")
            await self._stand_down()
            await self._leadership.release()

    async def _stand_down(self) -> None:
        self.leader = False
        running, self._running = self._running, []
        for part in reversed(running):
            try:
                await part.stop()
                log.info("stopped %s", part.name)
            except Exception:
                log.exception("stopping %s failed", part.name)

    async def _loop(self) -> None:
        while True:
            await self._sleep(self._interval)
            try:
                await self.step()
            except Exception:
                log.exception("leader election round failed")
