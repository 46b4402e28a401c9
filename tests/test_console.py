"""The console chat through a pipe (in process) and `coordbot run` on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.model import Answer
from bot.chat import ChatService
from bot.services import Services
from handlers.console import PROMPT, ConsoleChat, locale_language
from tests.chat_fakes import ScriptedEngine


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

REPO = Path(__file__).resolve().parent.parent


async def converse(services: Services, data: bytes, *, language_code: str | None = None) -> str:
    """Feed `data` to a console chat through a pipe, close it, return everything it wrote."""
    read_fd, write_fd = os.pipe()
    output = io.StringIO()
    finished = asyncio.Event()
    console = ConsoleChat(
        ChatService(services),
        input_fd=read_fd,
        output=output,
        on_eof=finished.set,
        language_code=language_code,
        user_name="Kari",
    )

    def type_and_close() -> None:
        # In a thread: a pipe holds 64 KiB, so a long input blocks until the console reads it.
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)

    try:
        await console.start()
        await asyncio.gather(asyncio.to_thread(type_and_close), finished.wait())
        await console.stop()
    finally:
        os.close(read_fd)
    return output.getvalue()


async def test_console_has_the_same_commands_and_answers(services: Services) -> None:
    out = await converse(services, b"/help\n/lang nb\n/events\n\n/frobnicate\n/calendar\n")
    assert out.startswith("No Telegram token set: chatting here on the console.")
    assert "Hello Kari! I am coordbot" in out
    assert "/who - who is a contact" in out
    assert "Jeg svarer på norsk." in out
    assert "Kommende:\n• 2020-01-31 [deadline] Frist: alle relevante KPI-data samlet inn" in out
    assert "Jeg kjenner ikke kommandoen /frobnicate." in out
    assert "webcal://" in out and "coordbot ics feed -o programme.ics" in out
    # The console is the machine's operator: coordinator commands work there.
    assert "Coordinator commands:" in out
    assert out.count(PROMPT) == 7  # one per line read, the empty one included, plus the first


async def test_console_answers_with_the_real_engine(services: Services) -> None:
    out = await converse(services, "who is Bodø's data contact?\n".encode())
    assert "Vesa Heikki Jäntti" in out


async def test_choices_are_numbered_and_picked_by_number(services: Services) -> None:
    def script(question: str, lang: str | None) -> Answer:
        if question == "Kristiansxnd?":
            return Answer(
                "clarify", "en", "Which one?", suggestions=("Kristiansand", "Kristiansund")
            )
        return Answer("answer", "en", f"answer to {question}")

    engine = ScriptedEngine(script)
    services.answers = engine  # type: ignore[assignment]
    out = await converse(services, b"Kristiansxnd?\n2\n7\n")
    assert "Which one?\nType a number to choose:\n  1. Kristiansand\n  2. Kristiansund\n" in out
    assert "answer to Kristiansund" in out
    # A number that is not a choice is just a question.
    assert [q for q, _ in engine.asked] == ["Kristiansxnd?", "Kristiansund", "7"]


async def test_bad_input_gets_a_message_and_the_console_carries_on(services: Services) -> None:
    def script(question: str, lang: str | None) -> Answer:
        if question == "boom":
            raise RuntimeError("engine exploded")
        return Answer("answer", "en", f"answer to {question}")

    services.answers = ScriptedEngine(script)  # type: ignore[assignment]
    huge = b"x" * 100_000 + b"\n"
    out = await converse(services, b"boom\n" + huge + b"\xff\xfe bad bytes\nstill here?\nlast")
    assert "Sorry, something went wrong on my side." in out
    assert "Traceback" not in out and "exploded" not in out
    assert "That message is 100000 characters long" in out
    assert "answer to \ufffd\ufffd bad bytes" in out
    assert "answer to still here?" in out
    assert "answer to last" in out  # a last line without a newline is not lost


async def test_language_comes_from_the_locale(services: Services) -> None:
    assert locale_language({"LANG": "nb_NO.UTF-8"}) == "nb_NO.UTF-8"
    assert locale_language({"LC_ALL": "en_GB.UTF-8", "LANG": "nb_NO.UTF-8"}) == "en_GB.UTF-8"
    out = await converse(services, b"/help\n", language_code="nb_NO.UTF-8")
    assert out.startswith("Ingen Telegram-token satt: vi chatter her i konsollen.")


# --- `coordbot run` on a pseudo-terminal ---------------------------------------------------


class Terminal:
    """The controlling side of a pty running a child process."""

    def __init__(self, master: int, process: subprocess.Popen[bytes]) -> None:
        self.master = master
        self.process = process
        self.seen = b""

    def read_until(self, needle: bytes, timeout: float = 30.0) -> bytes:
        """Read until `needle` appears after what was read before; returns the new output."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while needle not in self.seen[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {needle!r} in {self.seen[start:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {needle!r}: {self.seen!r}")
                self.seen += chunk
        return self.seen[start:]

    def type(self, text: str) -> None:
        """Type a line (or control characters) on the keyboard."""
        os.write(self.master, text.encode())


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    master, slave = pty.openpty()
    env = dict(os.environ, COORDBOT_BOT_NOW="2020-01-15T09:00", LANG="en_US.UTF-8")
    env.pop("COORDBOT_TELEGRAM_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    os.close(slave)
    try:
        yield Terminal(master, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
        os.close(master)


def test_coordbot_run_on_a_terminal_is_a_console_chat_until_ctrl_d(terminal: Terminal) -> None:
    greeting = terminal.read_until(b"\r\n" + PROMPT.encode())
    assert b"No Telegram token set: chatting here on the console." in greeting
    terminal.type("/events\n")
    events = terminal.read_until(PROMPT.encode())
    assert b"2020-01-31 [deadline] Deadline: all KPI data collected" in events
    terminal.type("who is Bod\u00f8's data contact?\n")
    answer = terminal.read_until(PROMPT.encode())
    assert "Vesa Heikki Jäntti".encode() in answer
    terminal.type("\x04")  # Ctrl-D
    assert terminal.process.wait(timeout=10) == 0


def test_coordbot_run_on_a_terminal_stops_on_sigint(terminal: Terminal) -> None:
    terminal.read_until(PROMPT.encode())
    terminal.process.send_signal(signal.SIGINT)
    assert terminal.process.wait(timeout=10) == 0
    assert b"Traceback" not in terminal.seen
