"""The IMAP watcher: a `coordbot run` component when `[inbound] imap_host` is set.

Standard-library imaplib in a worker thread (asyncio.to_thread), not aioimaplib: the work per
message is database and engine work that must leave the event loop anyway, imaplib needs no
new dependency, and IDLE (RFC 2177) is three lines of protocol on its socket. IDLE where the
server offers it, polling otherwise; a lost connection is reopened with doubling backoff.

A message is moved to `coordbot-handled` only after `Processor.handle` committed its effects
(a crash in between handles it again, and the Message-ID ledger makes that a no-op); one that
cannot be read goes to `coordbot-needs-person` and the coordinators are told. No message
stops the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import os
import re
import select
import signal
import ssl
import threading
import time

from bot.config import InboundConfig
from bot.inbound.process import Processor, StageHook
from bot.services import Services

log = logging.getLogger(__name__)

# Top-level names: no hierarchy delimiter, which differs between servers ("/" or ".").
HANDLED_FOLDER = "coordbot-handled"
NEEDS_PERSON_FOLDER = "coordbot-needs-person"
MAX_FETCH_BYTES = 10 * 1024 * 1024
IDLE_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
POLL_SECONDS = 60.0
BACKOFF_START, BACKOFF_MAX = 1.0, 300.0
# Fault injection for the crash tests: "STAGE:N" kills the process (SIGKILL) the Nth time a
# message reaches STAGE ("committed": effects committed, message not yet moved).
FAULT_ENV = "COORDBOT_TEST_INBOUND_KILL_AT"


def fault_hook_from_env(env: dict[str, str] | os._Environ[str]) -> StageHook | None:
    """The kill hook the fault tests ask for through FAULT_ENV, or None."""
    spec = env.get(FAULT_ENV, "")
    if ":" not in spec:
        return None
    stage, _, count_text = spec.partition(":")
    remaining = [int(count_text)]

    def hook(name: str) -> None:
        """Kill this process the Nth time `stage` is reached."""
        if name == stage:
            remaining[0] -= 1
            if remaining[0] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


class ImapWatcher:
    """Component: watches one IMAP folder and hands every message to the Processor."""

    name = "inbound-imap"

    def __init__(
        self,
        services: Services,
        *,
        processor: Processor | None = None,
        hook: StageHook | None = None,
        poll_seconds: float = POLL_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._services = services
        self._config: InboundConfig = services.config.inbound
        self._hook = hook if hook is not None else fault_hook_from_env(os.environ)
        self._processor = processor or Processor(services, hook=self._hook)
        self._poll_seconds = poll_seconds
        self._idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.handled = 0
        self.connections = 0

    async def start(self) -> None:
        """Start watching in a worker thread."""
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._task = asyncio.create_task(asyncio.to_thread(self._run), name="inbound-imap")

    async def stop(self) -> None:
        """Stop at the next message boundary (IDLE is left within a second)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # --- the worker thread ---------------------------------------------------------------

    def _run(self) -> None:
        backoff = BACKOFF_START
        while not self._stop.is_set():
            try:
                client = self._connect()
            except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
                log.warning(
                    "IMAP %s: cannot connect: %s; retry in %.0fs",
                    self._config.imap_host,
                    exc,
                    backoff,
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = BACKOFF_START
            try:
                self._watch(client)
            except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
                log.warning("IMAP connection lost: %s; reconnecting", exc)
                self._stop.wait(backoff)
            finally:
                # The connection may already be gone.
                with contextlib.suppress(Exception):
                    client.logout()

    def _connect(self) -> imaplib.IMAP4:
        cfg = self._config
        client: imaplib.IMAP4
        if cfg.imap_security == "tls":
            client = imaplib.IMAP4_SSL(
                cfg.imap_host, cfg.imap_port, ssl_context=ssl.create_default_context(), timeout=60
            )
        else:
            client = imaplib.IMAP4(cfg.imap_host, cfg.imap_port, timeout=60)
            if cfg.imap_security == "starttls":
                client.starttls(ssl.create_default_context())
        client.login(cfg.username, cfg.password)
        for folder in (HANDLED_FOLDER, NEEDS_PERSON_FOLDER):
            client.create(folder)  # NO when it exists: fine
        status, detail = client.select(_quote(cfg.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {cfg.folder}: {detail!r}")
        self.connections += 1
        return client

    def _watch(self, client: imaplib.IMAP4) -> None:
        idle = "IDLE" in client.capabilities
        while not self._stop.is_set():
            self._drain(client)
            if self._stop.is_set():
                return
            if idle:
                self._idle(client)
            else:
                self._stop.wait(self._poll_seconds)
                client.noop()

    def _drain(self, client: imaplib.IMAP4) -> None:
        """Handle every message in the folder, oldest first."""
        status, data = client.uid("SEARCH", "ALL")
        if status != "OK":
            raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
        for uid in (data[0] or b"").split():
            if self._stop.is_set():
                return
            self._one(client, uid.decode())

    def _one(self, client: imaplib.IMAP4, uid: str) -> None:
        status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
        size_match = re.search(
            rb"RFC822\.SIZE (\d+)", b" ".join(d for d in data if isinstance(d, bytes))
        )
        size = int(size_match.group(1)) if size_match else 0
        if size > MAX_FETCH_BYTES:
            self._processor.unreadable(
                f"imap-too-large:{uid}:{size}".encode(), f"message of {size} bytes is too large"
            )
            self._move(client, uid, NEEDS_PERSON_FOLDER)
            self._notify()
            return
        status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next((part[1] for part in data if isinstance(part, tuple)), None)
        if status != "OK" or raw is None:
            return  # expunged meanwhile
        try:
            result = self._processor.handle(raw)
        except Exception:
            # A bug must not stop the watcher or lose the message: a person looks at it.
            log.exception("handling inbound message UID %s failed", uid)
            self._processor.unreadable(raw, "coordbot failed on this message (see the log)")
            self._move(client, uid, NEEDS_PERSON_FOLDER)
            self._notify()
            return
        log.info("inbound UID %s: %s %s: %s", uid, result.kind, result.action, result.detail)
        self._notify()
        self._move(client, uid, HANDLED_FOLDER if result.readable else NEEDS_PERSON_FOLDER)
        self.handled += 1

    def _move(self, client: imaplib.IMAP4, uid: str, folder: str) -> None:
        if "MOVE" in client.capabilities:
            status, detail = client.uid("MOVE", uid, _quote(folder))
            if status == "OK":
                return
        status, detail = client.uid("COPY", uid, _quote(folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot copy UID {uid} to {folder}: {detail!r}")
        client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        client.expunge()

    def _notify(self) -> None:
        """Wake the delivery workers of this process (replies and notices were queued)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._services.outbox.notify)

    def _idle(self, client: imaplib.IMAP4) -> None:
        """Wait in IDLE until the server reports a change, stop is asked, or the time is up."""
        tag = client._new_tag().decode()
        client.send(f"{tag} IDLE\r\n".encode())
        line = client.readline()
        if not line.startswith(b"+"):
            raise imaplib.IMAP4.error(f"IDLE refused: {line!r}")
        sock = client.socket()
        deadline = time.monotonic() + self._idle_seconds
        changed = False
        while not self._stop.is_set() and not changed and time.monotonic() < deadline:
            readable, _w, _x = select.select([sock], [], [], 0.5)
            if readable:
                line = client.readline()
                if not line:
                    raise OSError("connection closed during IDLE")
                changed = b"EXISTS" in line or b"RECENT" in line
        client.send(b"DONE\r\n")
        while True:
            line = client.readline()
            if not line:
                raise OSError("connection closed leaving IDLE")
            if line.startswith(tag.encode()):
                return


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
