"""The registry service: the database is the truth, `snapshot()` an immutable copy to search.

Reads and writes go through SQLAlchemy Core (bot.registry.rows). An import replaces the whole
registry; a chat edit writes only the rows it changed and moves the snapshot forward in memory,
so one edit costs the same at 20 people as at 100,000.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from bot.clock import Clock
from bot.db import Database
from bot.gcpause import paused_gc
from bot.registry.data import RegistryData, load_registry_file
from bot.registry.rows import (
    bump_generation,
    changed_records,
    generation,
    read_registry,
    write_changes,
    write_registry,
)
from bot.registry.tables import MetaEntry

__all__ = [
    "Registry",
    "bump_generation",
    "read_registry",
    "write_registry",
]

log = logging.getLogger(__name__)


class Registry:
    """Reads and writes the registry; keeps one immutable snapshot, renewed after each write."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        timezone: str = "Europe/Oslo",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._monotonic = monotonic
        self._clock = clock
        self._timezone = timezone
        self._lock = threading.Lock()
        self._snapshot: RegistryData | None = None
        self._snapshot_generation = -1
        self._checked_at = 0.0
        self._version = 0

    def ensure_seeded(self, seed_file: Path, *, auto_upgrade: bool = True) -> bool:
        """Create or upgrade the schema (see Database.create_schema), and fill an empty
        registry from the seed file. True if seeded."""
        self._db.create_schema(auto_upgrade=auto_upgrade)
        with self._db.session() as session:
            if session.get(MetaEntry, "registry_written_at") is not None:
                return False
        data = load_registry_file(seed_file)
        self.replace(data)
        return True

    def replace(self, data: RegistryData, *, based_on: RegistryData | None = None) -> None:
        """Replace the whole registry in one transaction (all or nothing). With `based_on`
        (the snapshot `data` was derived from), raise RegistryConflict instead of writing when
        another process wrote the registry since that snapshot was read."""
        with self._db.session() as session, paused_gc():
            expected = based_on.generation if based_on is not None else None
            bump_generation(session, expected)
            write_registry(session, data, self._clock.now().astimezone(UTC))
        self.invalidate()

    def apply(self, before: RegistryData, after: RegistryData) -> RegistryData:
        """Write only the people and events that differ between `before` (a snapshot of this
        registry) and `after`, and return the new snapshot without reading the registry again.
        Raises RegistryConflict, writing nothing, when another process wrote the registry
        since `before` was read."""
        now = self._clock.now().astimezone(UTC)
        people = changed_records(before.people, after.people)
        with self._db.session() as session:
            new_generation = bump_generation(session, before.generation)
            stored = {e.key: e for e in write_changes(session, before, after, now, people)}
        events = tuple(stored.get(e.key, e) for e in after.events) if stored else after.events
        with self._lock:
            self._version += 1
            snapshot = dataclasses.replace(
                after, events=events, version=self._version, generation=new_generation
            )
            snapshot.carry_lookups(before, people)
            # Another thread may have read a newer registry meanwhile; keep the newest.
            if self._snapshot is None or self._snapshot_generation < new_generation:
                self._snapshot, self._snapshot_generation = snapshot, new_generation
                self._checked_at = self._monotonic()
            return snapshot

    def invalidate(self) -> None:
        """Forget the cached snapshot (after any write to registry tables)."""
        with self._lock:
            self._snapshot = None

    def cached(self) -> RegistryData | None:
        """The snapshot when handing it out needs no database work (read, or checked against
        the write counter, within the last second), else None; never waits for another
        thread's read, so the event loop may call it."""
        # Without the lock (every feed poll asks): each attribute is read whole; snapshot()
        # marks a copy checked only once the check is over, and a write drops or replaces the
        # copy before it marks the new one (a poll racing a write may get the copy from just
        # before it, as if it had come a moment earlier).
        snapshot, checked_at = self._snapshot, self._checked_at
        return snapshot if self._monotonic() - checked_at < 1.0 else None

    def current(self) -> RegistryData:
        """The snapshot, checked against the database's write counter now rather than within
        the last second: what an edit must start from."""
        with self._lock:
            self._checked_at = float("-inf")
        return self.snapshot()

    def snapshot(self) -> RegistryData:
        """The current registry as immutable records, cached until this process writes it or
        (checked at most once a second) another process, such as `coordbot registry import`, did."""
        with self._lock:
            if self._snapshot is not None and self._monotonic() - self._checked_at >= 1.0:
                began = self._monotonic()
                with self._db.session() as session:
                    if generation(session) != self._snapshot_generation:
                        self._snapshot = None
                # Only now: cached() hands the copy out without the lock while it looks
                # checked, and while the check runs it must not.
                self._checked_at = began
            if self._snapshot is None:
                with paused_gc(settle=True):
                    with self._db.session() as session:
                        # The counter first: a write landing between the two reads then makes
                        # the next check read again, instead of a newer copy passing for an
                        # older one.
                        counter = generation(session)
                        data = read_registry(session, self._timezone)
                    self._version += 1
                    self._snapshot = dataclasses.replace(
                        data, version=self._version, generation=counter
                    )
                    self._snapshot.build_lookups()
                self._checked_at = self._monotonic()
                self._snapshot_generation = counter
            return self._snapshot
