"""The console chat: the bot's commands and answers on a terminal (or any pipe), no account.

It reads its input file descriptor with `loop.add_reader` and `os.read`, so it never blocks
the loop the other components share, and leaves the terminal's blocking mode alone; each line
is answered in a worker thread (database and engine work), one after another, in order. Offered choices are numbered; typing the number picks one. End of input (Ctrl-D) ends
the console and, through `on_eof`, `coordbot run`.
"""

from __future__ import annotations

import asyncio
import codecs
import getpass
import logging
import os
from collections.abc import Callable, Mapping
from typing import TextIO

from bot.chat import ChatService, Reply, Sender
from bot.chat.reply import Line
from bot.i18n import gettext

log = logging.getLogger(__name__)

PROMPT = "> "
# A line longer than this is not kept, only counted, and refused as too long.
MAX_LINE_CHARS = 8192
_READ_SIZE = 65536
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def locale_language(environ: Mapping[str, str]) -> str | None:
    """The language of the user's locale (LC_ALL, LC_MESSAGES, LANG), e.g. "nb_NO.UTF-8"."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return environ[name]
    return None


class ConsoleChat:
    """Component: a chat on `input_fd`/`output` with the same commands as Telegram."""

    name = "console"

    def __init__(
        self,
        chat: ChatService,
        *,
        input_fd: int,
        output: TextIO,
        on_eof: Callable[[], None] | None = None,
        language_code: str | None = None,
        user_name: str | None = None,
        color: bool = False,
    ) -> None:
        self._chat = chat
        self._fd = input_fd
        self._output = output
        self._on_eof = on_eof
        self._color = color
        self._sender = Sender(
            user_id=None,
            chat_id=None,
            display_name=user_name or _user_name(),
            language_code=language_code,
            console=True,
        )
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        # Length of a line longer than MAX_LINE_CHARS, counted while its text is skipped.
        self._skipped_chars = 0
        self._choices: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self._finished = False
        # Lines to answer, in order: ("line", text), ("too_long", length) or ("eof", tail).
        self._work: asyncio.Queue[tuple[str, str | int]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Print the hint and greeting, then listen for lines."""
        self._loop = asyncio.get_running_loop()
        self._write(
            gettext(
                self._chat.language_of(self._sender),
                "No Telegram token set: chatting here on the console. Set COORDBOT_TELEGRAM_TOKEN to connect to Telegram. Ctrl-D ends.",
            )
            + "\n\n"
        )
        self._show(await asyncio.to_thread(self._chat.command, self._sender, "start", ""))
        self._write(PROMPT)
        self._worker = asyncio.create_task(self._answer_lines(), name="console")
        try:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True
        except (PermissionError, ValueError):
            # A regular file cannot be watched; reading it never blocks for long.
            self._loop.call_soon(self._pump_file)

    async def stop(self) -> None:
        """Stop reading (the descriptor stays open: it belongs to the caller)."""
        self._stop_reading()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _answer_lines(self) -> None:
        """Answer queued lines one by one, off the loop; at the end of input, finish."""
        while True:
            kind, value = await self._work.get()
            if kind == "too_long":
                self._show(await asyncio.to_thread(self._chat.too_long, self._sender, int(value)))
            elif kind == "line":
                self._show(await asyncio.to_thread(self._answer, str(value)))
            if kind == "eof":
                if str(value).strip():
                    self._show(await asyncio.to_thread(self._answer, str(value)))
                self._write("\n")
                if self._on_eof is not None:
                    self._on_eof()
                return
            self._write(PROMPT)

    # --- input --------------------------------------------------------------------------------

    def _stop_reading(self) -> None:
        if self._reading and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _read_chunk(self) -> bytes | None:
        try:
            return os.read(self._fd, _READ_SIZE)
        except BlockingIOError:
            return None
        except OSError:  # EIO: the terminal went away
            return b""

    def _on_readable(self) -> None:
        data = self._read_chunk()
        if data is not None:
            self._feed(data)

    def _pump_file(self) -> None:
        data = self._read_chunk()
        if data is not None:
            self._feed(data)
        if not self._finished and self._loop is not None:
            self._loop.call_soon(self._pump_file)

    def _feed(self, data: bytes) -> None:
        if self._finished:
            return
        if not data:
            self._finish()
            return
        self._buffer += self._decoder.decode(data)
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if self._skipped_chars:
                length, self._skipped_chars = self._skipped_chars + len(line), 0
                self._work.put_nowait(("too_long", length))
            else:
                self._work.put_nowait(("line", line.rstrip("\r")))
        if len(self._buffer) > MAX_LINE_CHARS:
            self._skipped_chars += len(self._buffer)
            self._buffer = ""

    def _finish(self) -> None:
        self._finished = True
        self._stop_reading()
        tail = self._buffer + self._decoder.decode(b"", final=True)
        if self._skipped_chars:
            self._work.put_nowait(("too_long", self._skipped_chars + len(tail)))
            tail = ""
        self._work.put_nowait(("eof", tail))

    # --- one line -----------------------------------------------------------------------------

    def _answer(self, line: str) -> Reply:
        """The reply to one line (in a worker thread)."""
        text = line.strip()
        if not text:
            return Reply(lang=self._chat.language_of(self._sender))
        try:
            if text.isdigit() and 1 <= int(text) <= len(self._choices):
                reply = self._chat.choose(self._sender, self._choices[int(text) - 1])
            else:
                reply = self._chat.message(self._sender, text)
        except Exception as exc:
            # One line in the log, not a traceback on the user's terminal (DEBUG has it).
            log.error("console: could not answer (%s: %s)", type(exc).__name__, exc)
            log.debug("console: traceback", exc_info=True)
            reply = self._chat.notice(self._sender, "error")
        return reply

    # --- output -------------------------------------------------------------------------------

    def _show(self, reply: Reply) -> None:
        if reply.empty:
            return
        lines = [self._render(line) for line in reply.lines]
        self._choices = [choice.id for choice in reply.choices]
        if reply.choices:
            lines.append(gettext(reply.lang, "Type a number to choose:"))
            lines += [f"  {n}. {choice.label}" for n, choice in enumerate(reply.choices, 1)]
        self._write("\n".join(lines) + "\n")

    def _render(self, line: Line) -> str:
        parts = []
        for span in line:
            bold = self._color and span.style == "bold"
            parts.append(f"{_BOLD}{span.text}{_RESET}" if bold else span.text)
        return "".join(parts)

    def _write(self, text: str) -> None:
        try:
            self._output.write(text)
            self._output.flush()
        except (BrokenPipeError, ValueError):  # output closed: nothing left to show it on
            pass


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
