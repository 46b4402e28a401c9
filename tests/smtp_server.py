"""A real SMTP server (aiosmtpd) on loopback for tests and benchmarks, with faults on demand.

It runs on its own event loop in a thread, so both async tests and synchronous code (the CLI's
`asyncio.run`) can talk to it. It can refuse chosen recipients with 4xx/5xx replies, reject
DATA, drop the connection at a chosen command, and speak STARTTLS or implicit TLS.

    with SmtpTestServer() as smtp:
        smtp.refuse("nobody@example.org", 550, "5.1.1 no such user")
        smtp.refuse("busy@example.org", 451, "4.3.0 try later", times=1)
        smtp.drop_connection("DATA", times=1)
        ... send to smtp.host, smtp.port ...
        smtp.messages[0].parsed()  # email.message.EmailMessage

Tests get a plain one as the `smtp_server` fixture (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

Security = Literal["none", "starttls", "tls"]


@dataclass
class ReceivedMessage:
    """One message as the server accepted it: envelope and the exact bytes of DATA."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    connection: int

    def parsed(self) -> EmailMessage:
        """The message parsed back with the email package (modern policy)."""
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class _Fault:
    reply: str
    remaining: int | None  # None: every time


@dataclass
class _State:
    messages: list[ReceivedMessage] = field(default_factory=list)
    connections: int = 0
    refusals: dict[str, _Fault] = field(default_factory=dict)
    data_faults: list[_Fault] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _take(fault: _Fault | None) -> str | None:
    """Use one occurrence of a fault; its reply, or None when it is used up."""
    if fault is None or fault.remaining == 0:
        return None
    if fault.remaining is not None:
        fault.remaining -= 1
    return fault.reply


class _Handler:
    def __init__(self, state: _State) -> None:
        self._state = state

    def _should_drop(self, command: str) -> bool:
        with self._state.lock:
            left = self._state.drops.get(command, 0)
            if left > 0:
                self._state.drops[command] = left - 1
                return True
        return False

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._should_drop("MAIL"):
            _drop(server)
            return "421 4.4.2 connection dropped by test"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._should_drop("RCPT"):
            _drop(server)
            return "421 4.4.2 connection dropped by test"
        with self._state.lock:
            reply = _take(self._state.refusals.get(address.lower()))
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._should_drop("DATA"):
            _drop(server)
            return "421 4.4.2 connection dropped by test"
        with self._state.lock:
            reply = None
            while self._state.data_faults and reply is None:
                reply = _take(self._state.data_faults[0])
                if reply is None:
                    self._state.data_faults.pop(0)
            if reply is not None:
                return reply
            self._state.messages.append(
                ReceivedMessage(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or b""),
                    getattr(server, "connection_number", 0),
                )
            )
        return "250 2.0.0 OK queued"


def _drop(server: SMTP) -> None:
    if server.transport is not None:
        server.transport.abort()


class _CountingSMTP(SMTP):
    """aiosmtpd's protocol, numbering each connection it serves."""

    def __init__(self, state: _State, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counting_state = state
        self.connection_number = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # STARTTLS calls connection_made again on the same protocol: count it once.
        if self.connection_number == 0:
            with self._counting_state.lock:
                self._counting_state.connections += 1
                self.connection_number = self._counting_state.connections
        super().connection_made(transport)


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 and a free port, in a thread of its own."""

    def __init__(
        self, *, security: Security = "none", tls_context: ssl.SSLContext | None = None
    ) -> None:
        if security != "none" and tls_context is None:
            raise ValueError("STARTTLS and TLS need a server tls_context")
        self.security = security
        self.host = "127.0.0.1"
        self.port = 0
        self._tls_context = tls_context
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # --- faults ------------------------------------------------------------------------------

    def refuse(self, address: str, code: int, text: str = "", *, times: int | None = None) -> None:
        """Reply `code text` to RCPT TO:<address> (always, or the next `times` times)."""
        reply = f"{code} {text or ('4.2.0 try again later' if code < 500 else '5.1.1 refused')}"
        with self._state.lock:
            self._state.refusals[address.lower()] = _Fault(reply, times)

    def reject_data(self, code: int, text: str = "", *, times: int | None = 1) -> None:
        """Reply `code text` at the end of DATA for the next `times` messages."""
        reply = f"{code} {text or ('4.3.0 try later' if code < 500 else '5.6.0 rejected')}"
        with self._state.lock:
            self._state.data_faults.append(_Fault(reply, times))

    def drop_connection(self, at: Literal["MAIL", "RCPT", "DATA"] = "DATA", times: int = 1) -> None:
        """Abort the TCP connection (no reply) at the next `times` MAIL, RCPT or DATA commands."""
        with self._state.lock:
            self._state.drops[at] = self._state.drops.get(at, 0) + times

    # --- what arrived --------------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Messages accepted so far, in order."""
        with self._state.lock:
            return list(self._state.messages)

    @property
    def connections(self) -> int:
        """How many SMTP connections were opened."""
        with self._state.lock:
            return self._state.connections

    def clear(self) -> None:
        """Forget received messages and the connection count (faults stay)."""
        with self._state.lock:
            self._state.messages.clear()
            self._state.connections = 0

    # --- running -------------------------------------------------------------------------------

    def start(self) -> SmtpTestServer:
        """Start serving; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._bind())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name="smtp-test-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self._state)
        starttls = self.security == "starttls"

        def factory() -> SMTP:
            return _CountingSMTP(
                self._state,
                handler,
                hostname="smtp.test",
                tls_context=self._tls_context if starttls else None,
                require_starttls=starttls,
                loop=loop,
            )

        self._server = await loop.create_server(
            factory,
            self.host,
            0,
            ssl=self._tls_context if self.security == "tls" else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Client sessions still open (a test that dropped or left a connection) end here, so
        # nothing is left pending when the loop closes.
        current = asyncio.current_task()
        sessions = [t for t in asyncio.all_tasks() if t is not current]
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def smtp_env(server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point coordbot's [email] settings at `server` through the environment."""
    monkeypatch.setenv("COORDBOT_EMAIL_SMTP_HOST", server.host)
    monkeypatch.setenv("COORDBOT_EMAIL_SMTP_PORT", str(server.port))
    monkeypatch.setenv("COORDBOT_EMAIL_SECURITY", server.security)
    monkeypatch.setenv("COORDBOT_EMAIL_FROM_ADDRESS", "coordbot@u4ssc-norge.example.org")
    monkeypatch.setenv("COORDBOT_EMAIL_TIMEOUT", "10")


def main() -> None:
    """Serve in a process of its own (benchmarks): print the port (and with --starttls the
    path of the CA certificate to trust), serve until stdin closes, then print how many
    messages and connections it saw."""
    import sys
    import tempfile

    starttls = "--starttls" in sys.argv[1:]
    if not starttls:
        with SmtpTestServer() as server:
            print(server.port, flush=True)
            sys.stdin.read()
            print(len(server.messages), server.connections, flush=True)
        return
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with tempfile.TemporaryDirectory() as folder:
        cafile = f"{folder}/ca.pem"
        ca.cert_pem.write_to_path(cafile)
        with SmtpTestServer(security="starttls", tls_context=context) as server:
            print(server.port, cafile, flush=True)
            sys.stdin.read()
            print(len(server.messages), server.connections, flush=True)


if __name__ == "__main__":
    main()
