"""Feeds as the calendar server sends them, built once per registry snapshot.

A feed is keyed by what changes its bytes: the registry snapshot (its database generation and
this process's snapshot version), the language and the feed's name (the calendar settings are
fixed for one cache: each server has its own; the token a feed was asked for changes nothing).
Two LRUs hold them: the documents, bounded by count and by total size, and their heads (ETag,
Last-Modified and the response headers), small and kept far longer, so that a 304 needs neither
a build nor the document. An LRU evicts its least recently used entry, never everything.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Generic, TypeVar

from bot.calendar.feeds import feed_document, feed_etag, feed_last_modified, find_feed
from bot.config import CalendarConfig
from bot.registry.data import RegistryData

K = TypeVar("K")
V = TypeVar("V")

FeedKey = tuple[int, int, str, str]  # (generation, snapshot version, lang, feed name)


def feed_key(data: RegistryData, name: str, lang: str) -> FeedKey:
    """The cache key of feed `name` in `lang` built from `data`."""
    return (data.generation, data.version, lang, name)


@dataclass(frozen=True)
class FeedHead:
    """What a 304 needs: the validators, and the headers every answer for the feed carries."""

    etag: str
    last_modified: datetime | None
    headers: dict[str, str]


@dataclass(frozen=True)
class FeedEntry:
    """A built feed: its head and its bytes."""

    head: FeedHead
    document: bytes


class LRU(Generic[K, V]):
    """A least-recently-used map bounded by entry count and, with `weigh`, by total weight.
    Thread-safe: the server reads it on the event loop and fills it from worker threads."""

    def __init__(self, max_entries: int, max_weight: int | None, weigh: Callable[[V], int]) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._max_entries = max(1, max_entries)
        self._max_weight = max_weight
        self._weigh = weigh
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value for `key` (now the most recently used), or None."""
        # Without the lock: every 304 comes through here. Each OrderedDict call runs whole
        # under the GIL (the keys are tuples of strings and numbers, hashed without Python
        # code), and `put` keeps its bookkeeping under the lock; a key evicted between the
        # two calls is simply not moved.
        value = self._entries.get(key)
        if value is not None:
            try:  # noqa: SIM105 (every 304 passes here: no context manager object each time)
                self._entries.move_to_end(key)
            except KeyError:
                pass
        return value

    def put(self, key: K, value: V) -> None:
        """Store `value`, then evict least recently used entries until within bounds (the
        newest entry stays even when it alone is over the weight bound)."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= self._weigh(old)
            self._entries[key] = value
            self._weight += self._weigh(value)
            while len(self._entries) > 1 and (
                len(self._entries) > self._max_entries
                or (self._max_weight is not None and self._weight > self._max_weight)
            ):
                _key, evicted = self._entries.popitem(last=False)
                self._weight -= self._weigh(evicted)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries


FeedBuilder = Callable[[RegistryData, str, str], bytes]


class FeedCache:
    """Built feeds and their heads for one calendar configuration (see the module doc)."""

    def __init__(
        self,
        config: CalendarConfig,
        *,
        max_documents: int = 64,
        max_bytes: int = 64 * 1024 * 1024,
        max_heads: int = 8192,
        build: FeedBuilder | None = None,
    ) -> None:
        self._config = config
        self._build = build or self._build_document
        self._documents: LRU[FeedKey, _Cached[FeedEntry]] = LRU(
            max_documents, max_bytes, weigh=lambda cached: len(cached.value.document)
        )
        self._heads: LRU[FeedKey, _Cached[FeedHead]] = LRU(max_heads, None, weigh=lambda _c: 1)
        self._building: dict[FeedKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0  # feeds built so far (for tests and the curious)

    def head(self, data: RegistryData, name: str, lang: str) -> FeedHead | None:
        """The feed's head when it is known for this snapshot; None means it must be built.
        Costs no build and no registry read: safe on the event loop."""
        cached = self._heads.get(feed_key(data, name, lang))
        return cached.value if cached is not None and cached.source() is data else None

    def entry(self, data: RegistryData, name: str, lang: str) -> FeedEntry:
        """The feed, built at most once per snapshot even when asked for from several threads
        at once. Raises UnknownFeed for a name no feed has."""
        key = feed_key(data, name, lang)
        found = self._cached_entry(key, data)
        if found is not None:
            return found
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            found = self._cached_entry(key, data)
            if found is not None:
                return found
            try:
                document = self._build(data, name, lang)
                self.builds += 1
                entry = FeedEntry(
                    _head(feed_etag(document), _last_modified(data, name, lang), name), document
                )
                source = weakref.ref(data)
                self._documents.put(key, _Cached(entry, source))
                self._heads.put(key, _Cached(entry.head, source))
                return entry
            finally:
                with self._lock:
                    self._building.pop(key, None)

    def cached(self, data: RegistryData, name: str, lang: str) -> FeedEntry | None:
        """The feed when it is built already for this snapshot, else None (no build)."""
        return self._cached_entry(feed_key(data, name, lang), data)

    def _cached_entry(self, key: FeedKey, data: RegistryData) -> FeedEntry | None:
        cached = self._documents.get(key)
        return cached.value if cached is not None and cached.source() is data else None

    def _build_document(self, data: RegistryData, name: str, lang: str) -> bytes:
        return feed_document(data, find_feed(data, name, lang), self._config, lang)


class SnapshotReader:
    """Registry snapshots for the event loop, read in a worker thread (a read may touch the
    database), with one thread hop for every request waiting at the same time: a request gets
    a snapshot whose read began after the request arrived, so it sees every write finished
    before it, as a call of its own would; many polls at once cost one hop, not one each."""

    def __init__(self, read: Callable[[], RegistryData]) -> None:
        self._read = read
        self._next: asyncio.Future[RegistryData] | None = None  # for requests arriving now
        self._running = False
        self.reads = 0

    async def get(self) -> RegistryData:
        """A snapshot read after this call began."""
        future = self._next
        if future is None:
            future = self._next = asyncio.get_running_loop().create_future()
            if not self._running:
                self._start()
        # Shielded: one waiter going away (a closed connection) must not cancel the others'.
        return await asyncio.shield(future)

    def _start(self) -> None:
        future, self._next = self._next, None
        assert future is not None
        self._running = True
        self.reads += 1
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, self._read).add_done_callback(
            lambda done: self._finished(future, done)
        )

    def _finished(self, future: asyncio.Future[RegistryData], done: asyncio.Future[Any]) -> None:
        self._running = False
        if done.cancelled():
            future.cancel()
        elif not future.done():
            if done.exception() is not None:
                future.set_exception(done.exception())  # type: ignore[arg-type]
            else:
                future.set_result(done.result())
        if self._next is not None:  # requests that came while this read ran
            self._start()


@dataclass(frozen=True)
class _Cached(Generic[V]):
    """A cached value with the snapshot it was built from: a key alone could be reused by a
    snapshot made without a new version, and a weak reference keeps no old registry alive."""

    value: V
    source: weakref.ref[RegistryData]


def _last_modified(data: RegistryData, name: str, lang: str) -> datetime | None:
    return feed_last_modified(data, find_feed(data, name, lang))


def _head(etag: str, modified: datetime | None, name: str) -> FeedHead:
    headers = {
        "ETag": etag,
        # Revalidate on every poll: a 304 costs nothing and changes show up at once.
        "Cache-Control": "no-cache",
        "Content-Disposition": f'inline; filename="{name}.ics"',
    }
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    return FeedHead(etag, modified, headers)
