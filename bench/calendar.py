"""Calendar benchmarks: feed generation, invite building and invite sending. Prints the figures;
run `python bench/calendar.py` (add --events / --invites to change the sizes).

1. Feed generation: the programme feed for a registry of 1,000 events (all-day and timed items
   in Europe/Oslo, each with contacts), built and serialised: events/s (median of 3 runs).
2. Building 1,000 iMIP invites (REQUEST, each a complete multipart e-mail with its calendar):
   invites/s.
3. Sending those 1,000 invites to a loopback aiosmtpd server (tests/smtp_server.py, in a
   process of its own): over one SMTP connection (SmtpMailer.send_batch) against one
   connection per message, in plain text and with STARTTLS: messages/s for each, and the
   messages and connections the server saw.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
# This file is called calendar.py: with bench/ first on sys.path it would stand in for the
# standard library's `calendar` module (which dateutil, under icalendar, imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.synthetic import event_registry  # noqa: E402
from bot.calendar.feeds import feed_document, find_feed  # noqa: E402
from bot.calendar.invites import Invitee, Organizer, build_invite  # noqa: E402
from bot.config import CalendarConfig, EmailConfig  # noqa: E402
from bot.mail import SmtpMailer  # noqa: E402
from bot.registry.data import RegistryData  # noqa: E402

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)
ORGANIZER = Organizer("coordbot@u4ssc-norge.example.org", "U4SSC Norge - coordbot", "U4SSC Norge")


def bench_feed(data: RegistryData) -> tuple[float, int]:
    """Median seconds to build and serialise the programme feed, and its size in bytes."""
    spec = find_feed(data, "programme", "en")
    config = CalendarConfig(alarm_minutes=30)
    times, size = [], 0
    for _ in range(3):
        began = time.perf_counter()
        document = feed_document(data, spec, config, "en")
        times.append(time.perf_counter() - began)
        size = len(document)
    return statistics.median(times), size


def build_invites(data: RegistryData, count: int) -> tuple[float, list]:
    """Seconds to build `count` invites (one per recipient), and the messages."""
    began = time.perf_counter()
    messages = [
        build_invite(
            data,
            data.events[i % len(data.events)],
            Invitee(f"mottaker{i}@example.org", f"Mottaker {i} Å"),
            ORGANIZER,
            method="REQUEST",
            now=NOW,
            lang="nb",
        )
        for i in range(count)
    ]
    return time.perf_counter() - began, messages


class SmtpServerProcess:
    """tests/smtp_server.py's aiosmtpd server in a process of its own, so the server's work
    does not share the benchmark's interpreter lock."""

    def __init__(self, *, starttls: bool = False) -> None:
        command = [sys.executable, "-m", "tests.smtp_server"] + (["--starttls"] if starttls else [])
        self._process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        first = self._process.stdout.readline().split()
        self.port = int(first[0])
        self.tls_context = ssl.create_default_context(cafile=first[1]) if starttls else None

    def finish(self) -> tuple[int, int]:
        """Stop the server; the messages and connections it saw."""
        out, _err = self._process.communicate("", timeout=60)
        received, connections = out.split()
        return int(received), int(connections)


async def send_invites(messages: list, *, starttls: bool) -> dict[str, tuple[float, int, int]]:
    """Seconds, messages received and connections seen: one connection vs one per message."""
    figures = {}
    for label in ("one connection", "one connection per message"):
        server = SmtpServerProcess(starttls=starttls)
        config = EmailConfig(
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            security="starttls" if starttls else "none",
            timeout=600.0,
            from_address="coordbot@bench.example.org",  # nothing is sent without one
        )
        mailer = SmtpMailer(config, tls_context=server.tls_context)
        began = time.perf_counter()
        if label == "one connection":
            results = await mailer.send_batch(messages)
        else:
            results = [(await mailer.send_batch([message]))[0] for message in messages]
        elapsed = time.perf_counter() - began
        failed = [r for r in results if not r.ok]
        assert not failed, failed[:3]
        received, connections = server.finish()
        figures[label] = (elapsed, received, connections)
    return figures


def main() -> int:
    """Run the three benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--invites", type=int, default=1000)
    args = parser.parse_args()

    data = event_registry(args.events)
    seconds, size = bench_feed(data)
    print(
        f"feed: {args.events} events in {seconds * 1000:.0f} ms "
        f"({args.events / seconds:,.0f} events/s, {size / 1024:.0f} KiB)"
    )

    seconds, messages = build_invites(data, args.invites)
    print(
        f"invites built: {args.invites} in {seconds:.2f} s ({args.invites / seconds:,.0f} invites/s)"
    )

    for starttls in (False, True):
        security = "STARTTLS" if starttls else "plain"
        figures = asyncio.run(send_invites(messages, starttls=starttls))
        for label, (elapsed, received, connections) in figures.items():
            print(
                f"invites sent ({security}), {label}: {received} in {elapsed:.2f} s "
                f"({received / elapsed:,.0f} msgs/s, {connections} SMTP connections)"
            )
        single = figures["one connection"][0]
        each = figures["one connection per message"][0]
        print(f"  ({security}) one connection is {each / single:.1f}x as fast as one per message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
