"""The calendar web server's defences against floods (one client must not take it down).

- A cap on open connections, below the process's file limit, so accepting never runs the
  process out of descriptors (which stopped e-mail delivery and made asyncio log every failed
  accept). At the cap, the oldest connection that has not yet sent a complete request head
  makes room for the new one: idle flooders are dropped, a real request gets in.
- A header-read timeout: a connection that has not sent a complete request head in
  `header_timeout` seconds is closed (slowloris); aiohttp's keep-alive timeout covers the
  time between requests.
- Accept errors and malformed requests are logged as a rate-limited one-line summary instead
  of a traceback each.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("coordbot.web")

HEADER_TIMEOUT_SECONDS = 10.0
KEEPALIVE_TIMEOUT_SECONDS = 15.0
MAX_CONNECTIONS = 512
# Descriptors kept free for everything else: the database, SMTP and Telegram connections.
RESERVED_DESCRIPTORS = 256


def connection_cap(wanted: int = MAX_CONNECTIONS) -> int:
    """`wanted`, lowered so that the cap plus a reserve stays under the soft file limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft - RESERVED_DESCRIPTORS))


class _Guarded(asyncio.Protocol):
    """Wraps aiohttp's protocol for one connection; tells the guard when it opens and ends."""

    def __init__(self, guard: ConnectionGuard, handler: RequestHandler) -> None:
        self.guard = guard
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        # Every read goes straight to aiohttp's handler: the transport looks the method up on
        # this object, and an instance attribute saves a call through the wrapper per request.
        self.data_received = handler.data_received  # type: ignore[method-assign]

    @property
    def started(self) -> bool:
        """True once a complete request head has arrived on this connection."""
        return bool(getattr(self.handler, "_request_count", 0))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.guard.opened(self)
        self.handler.connection_made(transport)

    def eof_received(self) -> bool | None:
        self.handler.eof_received()
        return None

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed(self)
        self.handler.connection_lost(exc)

    def abort(self) -> None:
        """Drop the connection at once (no response: it never asked for one)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


class ConnectionGuard:
    """A protocol factory around aiohttp's server that enforces the cap and the timeout."""

    def __init__(
        self,
        server: Callable[[], RequestHandler],
        *,
        max_connections: int,
        header_timeout: float,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._server = server
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self._loop = loop
        self._open: OrderedDict[_Guarded, None] = OrderedDict()
        self.evicted = 0
        self.timed_out = 0
        self.refused = 0
        self._summary = _Summary(log, "connection guard")

    def __call__(self) -> _Guarded:
        return _Guarded(self, self._server())

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        return len(self._open)

    def opened(self, conn: _Guarded) -> None:
        """Register a new connection, making room (or refusing it) at the cap."""
        if len(self._open) >= self.max_connections:
            victim = next((c for c in self._open if not c.started), None)
            if victim is None:
                self.refused += 1
                self._summary.note("connection(s) refused: every slot is busy with a request")
                self._loop.call_soon(conn.abort)
                return
            self.evicted += 1
            self._summary.note(
                f"idle connection(s) dropped at the cap of {self.max_connections} open connections"
            )
            self._forget(victim)
            victim.abort()
        self._open[conn] = None
        conn.timer = self._loop.call_later(self.header_timeout, self._check_started, conn)

    def _check_started(self, conn: _Guarded) -> None:
        conn.timer = None
        if conn in self._open and not conn.started:
            self.timed_out += 1
            self._summary.note(
                f"connection(s) closed: no complete request head in {self.header_timeout:g} s"
            )
            conn.abort()

    def closed(self, conn: _Guarded) -> None:
        """Forget a connection that ended."""
        self._forget(conn)

    def _forget(self, conn: _Guarded) -> None:
        self._open.pop(conn, None)
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None


class GuardedSite(web.TCPSite):
    """web.TCPSite whose connections go through a ConnectionGuard."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        max_connections: int,
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(runner, host, port, backlog=128)
        self._max_connections = max_connections
        self._header_timeout = header_timeout
        self.guard: ConnectionGuard | None = None

    async def start(self) -> None:
        """Bind and serve, as web.TCPSite does, with the guard in front of aiohttp."""
        self._runner._reg_site(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self.guard = ConnectionGuard(
            server,
            max_connections=self._max_connections,
            header_timeout=self._header_timeout,
            loop=loop,
        )
        self._server = await loop.create_server(
            self.guard, self._host, self._port, backlog=self._backlog
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


class _Summary:
    """At most one log line per `interval` seconds per kind, with how many were folded in."""

    def __init__(self, logger: logging.Logger, what: str, interval: float = 60.0) -> None:
        self._log = logger
        self._what = what
        self._interval = interval
        self._last: dict[str, float] = {}
        self._folded: dict[str, int] = {}

    def note(self, kind: str) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._folded[kind] = self._folded.get(kind, 0) + 1
            return
        self._last[kind] = now
        folded = self._folded.pop(kind, 0)
        more = f" (and {folded} more in the last {self._interval:g} s)" if folded else ""
        self._log.warning("%s: %s%s", self._what, kind, more)


class RateLimitedRecords(logging.Filter):
    """A logger filter: one line per kind of record a minute, without the traceback, saying
    how many were folded in (malformed requests are the internet's background noise)."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[str, float] = {}
        self._folded: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Let one record a minute per kind through, shortened."""
        exc = record.exc_info[1] if record.exc_info else None
        kind = f"{record.name}:{type(exc).__name__ if exc else record.msg}"
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._folded[kind] = self._folded.get(kind, 0) + 1
            return False
        self._last[kind] = now
        folded = self._folded.pop(kind, 0)
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        detail = f": {type(exc).__name__}: {_short(exc)}" if exc else ""
        more = f" (and {folded} more in the last {self._interval:g} s)" if folded else ""
        record.msg = f"{message}{detail}{more}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _short(exc: BaseException | None) -> str:
    # Printable only: a request line is the client's bytes, and must not forge log lines.
    text = " ".join(str(exc).split())
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def install_log_limits() -> None:
    """Fold aiohttp's per-request error records into a rate-limited summary."""
    logging.getLogger("aiohttp.server").addFilter(RateLimitedRecords())


def loop_exception_handler(interval: float = 60.0) -> Callable[[Any, dict[str, Any]], None]:
    """An event-loop exception handler that logs each kind of error once per `interval`
    (asyncio logs a failed accept() with a traceback every time it retries)."""
    summary = _Summary(logging.getLogger("asyncio"), "event loop", interval)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", "error"))
        if not message.startswith("socket.accept()"):
            loop.default_exception_handler(context)  # everything else keeps its traceback
            return
        exc = context.get("exception")
        detail = f" ({type(exc).__name__}: {_short(exc)})" if exc else ""
        summary.note(f"{message}{detail}")

    return handle
