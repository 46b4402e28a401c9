"""The chat path's own cost: 1,000 questions from 20 Telegram users through ChatService (as the
transports call it), ten a second by an injected clock, on a fresh SQLite database. Prints the
time and CPU per message and how many INSERT/UPDATE statements the messages caused (the users'
first messages, which create them, come before the count).

    python bench/chat_path.py [--messages 1000]
"""

# ruff: noqa: E402  (the path fix below must run before the imports after it)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/calendar.py would hide the
# standard library's calendar module: the repository root goes there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

USERS = 20
QUESTION = "who is Bodø's data contact?"


def main() -> int:
    """Send the messages and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in [n for n in os.environ if n.startswith("COORDBOT_")]:
            del os.environ[name]
        os.environ["COORDBOT_BOT_DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["COORDBOT_TELEGRAM_QUESTIONS_PER_MINUTE"] = "1000000"  # not what is measured
        from sqlalchemy import event

        from bot.chat import ChatService, Sender
        from bot.clock import FixedClock
        from bot.config import load_config
        from bot.services import build_services

        clock = FixedClock(datetime(2020, 1, 15, 9, 0, tzinfo=ZoneInfo("Europe/Oslo")))
        services = build_services(load_config(), clock)
        chat = ChatService(services)
        senders = [Sender(1000 + i, 1000 + i, f"User {i}") for i in range(USERS)]
        for sender in senders:
            chat.question(sender, QUESTION)
        writes = 0

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            nonlocal writes
            writes += statement.lstrip().upper().startswith(("INSERT", "UPDATE"))

        event.listen(services.db.engine, "before_cursor_execute", count)
        began, cpu = time.perf_counter(), time.process_time()
        for i in range(args.messages):
            clock.advance(timedelta(milliseconds=100))
            chat.question(senders[i % USERS], QUESTION)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        seconds = args.messages / 10
        print(
            f"{args.messages} messages from {USERS} users over {seconds:g} s of clock: "
            f"{elapsed / args.messages * 1000:.2f} ms/message, "
            f"{cpu / args.messages * 1000:.2f} ms CPU/message, "
            f"{writes} INSERT/UPDATE statements ({writes / args.messages:.2f} a message)"
        )
        services.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
