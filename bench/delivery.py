"""Delivery benchmarks: Telegram throughput against the rate limit, e-mails per second, and
reminder latency after the due time. Prints the figures; run `python bench/delivery.py`.

1. 3,000 Telegram messages to the loopback Bot API stand-in with its flood limit scaled to
   300 messages/s (and coordbot's limit set to match): achieved rate / limit (target >= 0.9),
   flood violations seen by the stand-in (must be 0) and messages lost (must be 0).
2. 1,000 e-mails to an aiosmtpd server in a process of its own, in batches over one
   connection, at two message sizes: coordbot's e-mail worker (outbox rows claimed, the stored
   bytes sent, each recorded as accepted) beside a minimal aiosmtplib script sending the same
   messages to the same server in the same run; the ratio of the two rates (target >= 0.8).
3. Reminder latency: reminders due one to three seconds ahead, driven by the real scheduler
   (APScheduler) and delivered to the stand-in: seconds from due time to arrival.
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
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta

import aiohttp

from bot.access import link_person, record_chat_user
from bot.clock import SystemClock
from bot.config import load_config
from bot.delivery.broadcast import deliver_until_finished
from bot.delivery.component import DeliveryComponent, build_workers
from bot.delivery.outbox import NewMessage
from bot.delivery.pacing import RealPacer
from bot.delivery.render import email_message
from bot.mail import SmtpMailer
from bot.registry.data import AudienceRec, EventRec, PersonRec
from bot.services import Services, build_services
from handlers.telegram.outbound import PtbTransport
from tests.botapi_standin import BotApiStandIn


def _services(workdir: str, **delivery: object) -> Services:
    config = load_config(env={"COORDBOT_BOT_DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3"})
    config = replace(config, delivery=replace(config.delivery, **delivery))  # type: ignore[arg-type]
    return build_services(config, SystemClock())


async def _standin_process(limit: int) -> tuple[asyncio.subprocess.Process, str]:
    """The Bot API stand-in in a process of its own (like Telegram, not sharing our CPU)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "botapi_standin.py"),
        "--port",
        "0",
        "--flood-limit",
        str(limit),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode()
    base_url = line.split(" on ", 1)[1].split(" ", 1)[0]
    return process, base_url


async def bench_telegram(workdir: str, count: int, limit: int) -> dict[str, float]:
    """Messages to `count` different chats through the worker, stand-in limited to `limit`/s."""
    services = _services(workdir, telegram_per_second=float(limit), telegram_concurrency=32)
    source = ("broadcast", "bench")
    services.outbox.enqueue(
        NewMessage("broadcast", "bench", "telegram", f"chat:{n}", str(n), f"message {n}".encode())
        for n in range(1, count + 1)
    )
    standin, base_url = await _standin_process(limit)
    try:
        config = replace(services.config.telegram, token="123456:TEST", api_base_url=base_url)
        transport = PtbTransport(config, pool_size=32)
        await transport.open()
        try:
            pacer = RealPacer()
            workers = build_workers(services, telegram=transport, mailer=None, pacer=pacer)
            started = time.perf_counter()
            await deliver_until_finished(
                workers, services.outbox, services.clock, source, give_up_after=600
            )
            wall = time.perf_counter() - started
        finally:
            await transport.close()
        async with aiohttp.ClientSession() as http:
            origin = base_url.rsplit("/", 1)[0]
            async with http.get(f"{origin}/_standin/calls") as response:
                seen = await response.json()
    finally:
        standin.terminate()
        await standin.wait()
    ok = [c for c in seen["calls"] if c["method"] == "sendmessage" and c["status"] == 200]
    times = sorted(c["at"] for c in ok)
    chats = {int(c["params"]["chat_id"]) for c in ok}
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    services.close()
    return {
        "sent": float(len(ok)),
        "lost": float(count - len(chats)),
        "duplicates": float(len(ok) - len(chats)),
        "rate": rate,
        "ratio": rate / limit,
        "flood_violations": float(seen["flood_violations"]),
        "wall_seconds": wall,
    }


async def _smtp_process() -> tuple[asyncio.subprocess.Process, int]:
    """aiosmtpd in a process of its own (tests/smtp_server.py), like a real mail server."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "smtp_server.py"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    port = int((await process.stdout.readline()).decode().split()[0])
    return process, port


async def _stop_smtp(process: asyncio.subprocess.Process) -> int:
    """Close the server's stdin; it prints how many messages it accepted, then exits."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    line = (await process.stdout.readline()).decode()
    await process.wait()
    return int(line.split()[0])


async def _baseline(port: int, sender: str, wire: list[tuple[str, bytes]], batch: int) -> float:
    """The minimal aiosmtplib sender: one connection per `batch`, `sendmail` of the bytes."""
    import aiosmtplib

    started = time.perf_counter()
    for start in range(0, len(wire), batch):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for to, data in wire[start : start + batch]:
            await client.sendmail(sender, [to], data)
        await client.quit()
    return time.perf_counter() - started


async def bench_email(
    workdir: str, count: int, body_bytes: int, rounds: int = 3
) -> dict[str, float]:
    """`count` e-mails of about `body_bytes` through coordbot's e-mail worker (outbox rows
    claimed, sent as stored, each recorded as it is accepted) and, for comparison, the same
    messages through a minimal aiosmtplib script, to one aiosmtpd process in the same run.
    Alternating rounds; the best of each is compared."""
    smtp, port = await _smtp_process()
    services = _services(workdir)
    email_cfg = replace(
        services.config.email,
        smtp_host="127.0.0.1",
        smtp_port=port,
        security="none",
        from_address="coordbot@bench.example.org",
    )
    services.config = replace(services.config, email=email_cfg)
    now = services.clock.now()
    line = "Lorem ipsum dolor sit amet, æøå ÆØÅ, consectetur adipiscing elit.\n"
    text = line * max(1, body_bytes // len(line.encode()))
    bodies = [
        email_message(
            email_cfg,
            to_name=f"Person {n}",
            to_address=f"person{n}@example.org",
            subject="Benchmark",
            text=text,
            now=now,
        )
        for n in range(count)
    ]
    wire = [(f"person{n}@example.org", bodies[n]) for n in range(count)]
    batch = services.config.delivery.email_batch_size
    ours: list[float] = []
    theirs: list[float] = []
    connections = 0
    try:
        for round_number in range(rounds):
            theirs.append(await _baseline(port, email_cfg.from_address, wire, batch))
            source = ("broadcast", f"bench-mail-{body_bytes}-{round_number}")
            services.outbox.enqueue(
                NewMessage(*source, "email", f"p{n}", f"person{n}@example.org", bodies[n])
                for n in range(count)
            )
            mailer = SmtpMailer(email_cfg)
            workers = build_workers(services, telegram=None, mailer=mailer, pacer=RealPacer())
            started = time.perf_counter()
            await deliver_until_finished(
                workers, services.outbox, services.clock, source, give_up_after=600
            )
            ours.append(time.perf_counter() - started)
            connections = mailer.connections_opened
            progress = services.outbox.progress(source)
            assert progress.counts.get("sent") == count, progress.counts
    finally:
        received = await _stop_smtp(smtp)
        services.close()
    best_ours, best_theirs = min(ours), min(theirs)
    return {
        "received": float(received),
        "expected": float(2 * rounds * count),
        "rate": count / best_ours,
        "baseline_rate": count / best_theirs,
        "ratio": best_theirs / best_ours,
        "connections": float(connections),
        "message_bytes": float(len(bodies[0])),
    }


async def bench_reminder_latency(workdir: str, reminders: int) -> dict[str, float]:
    """Reminders due 2..4 s from now on the real scheduler (APScheduler), each to its own
    Telegram chat; latency = arrival at the stand-in - due time."""
    from schedules.scheduler import ReminderScheduler

    services = _services(workdir)
    zone = services.zone
    base = datetime.now(zone).replace(microsecond=0)
    data = services.registry.snapshot()
    people = tuple(PersonRec(f"bench-{n}", f"Person {n}") for n in range(reminders))
    audiences = tuple(
        AudienceRec(f"bench-{n}", f"Bench {n}", f"Bench {n}", people=(f"bench-{n}",))
        for n in range(reminders)
    )
    dues = {n: base + timedelta(seconds=2 + n % 3) for n in range(reminders)}
    # Each meeting starts a minute after its reminder, which is due "1m" before.
    events = tuple(
        EventRec(
            key=f"bench-meeting-{n}",
            kind="meeting",
            title_en=f"Bench meeting {n}",
            title_nb=f"Testmøte {n}",
            start=dues[n] + timedelta(minutes=1),
            audiences=(f"bench-{n}",),
        )
        for n in range(reminders)
    )
    services.registry.replace(
        replace(
            data,
            people=(*data.people, *people),
            audiences=(*data.audiences, *audiences),
            events=(*data.events, *events),
        )
    )
    for n, person in enumerate(people):
        record_chat_user(
            services.db,
            telegram_user_id=10_000 + n,
            display_name=person.name,
            username=None,
            private_chat_id=10_000 + n,
            now=services.clock.now(),
        )
        link_person(services.db, 10_000 + n, person.key, by=None)
    async with BotApiStandIn() as api:
        services.config = replace(
            services.config,
            reminders=replace(
                services.config.reminders,
                meeting_lead_times=(),
                deadline_lead_times=(),
                audience_lead_times=tuple(f"bench-{n}:meeting=1m" for n in range(reminders)),
                channels=("telegram",),
            ),
            telegram=replace(services.config.telegram, token=api.token, api_base_url=api.base_url),
        )
        scheduler = ReminderScheduler(services)
        delivery = DeliveryComponent(
            services, telegram=PtbTransport(services.config.telegram), mailer=None
        )
        await delivery.start()
        await scheduler.start()
        try:
            await api.wait_for_calls("sendMessage", reminders, timeout=30)
        finally:
            await scheduler.stop()
            await delivery.stop()
        wall_minus_monotonic = time.time() - time.monotonic()
        arrivals = {
            int(c.params["chat_id"]) - 10_000: c.at + wall_minus_monotonic
            for c in api.calls_to("sendMessage")
        }
    services.close()
    latencies = [arrivals[n] - dues[n].timestamp() for n in range(reminders) if n in arrivals]
    return {
        "reminders": float(len(latencies)),
        "median": statistics.median(latencies),
        "max": max(latencies),
        "min": min(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument(
        "--email-sizes",
        default="2000,50000",
        help="approximate body sizes in bytes, comma-separated (each is measured)",
    )
    parser.add_argument("--reminders", type=int, default=6)
    parser.add_argument("--only", choices=("telegram", "email", "reminders"))
    args = parser.parse_args()
    os.environ.pop("COORDBOT_CONFIG", None)
    if args.only in (None, "telegram"):
        with tempfile.TemporaryDirectory() as workdir:
            r = asyncio.run(bench_telegram(workdir, args.telegram, args.limit))
        print(
            f"telegram: {int(r['sent'])} sent to {args.telegram} chats in {r['wall_seconds']:.1f} s; "
            f"achieved {r['rate']:.1f} msg/s / limit {args.limit} = {r['ratio']:.3f} "
            f"(target >= 0.9); flood_violations={int(r['flood_violations'])} "
            f"lost={int(r['lost'])} duplicates={int(r['duplicates'])}"
        )
    if args.only in (None, "email"):
        for size in (int(s) for s in args.email_sizes.split(",")):
            with tempfile.TemporaryDirectory() as workdir:
                r = asyncio.run(bench_email(workdir, args.emails, size))
            print(
                f"email ({args.emails} messages of {int(r['message_bytes'])} bytes): coordbot "
                f"{r['rate']:.0f} msgs/s over {int(r['connections'])} connections, minimal "
                f"aiosmtplib script {r['baseline_rate']:.0f} msgs/s, same server, same run: "
                f"ratio {r['ratio']:.2f} (target >= 0.8); aiosmtpd accepted "
                f"{int(r['received'])} of {int(r['expected'])}"
            )
    if args.only in (None, "reminders"):
        with tempfile.TemporaryDirectory() as workdir:
            r = asyncio.run(bench_reminder_latency(workdir, args.reminders))
        print(
            f"reminders: {int(r['reminders'])} of {args.reminders} arrived; latency after due "
            f"time min {r['min']:.3f} s, median {r['median']:.3f} s, max {r['max']:.3f} s "
            "(target < 1 s)"
        )


if __name__ == "__main__":
    main()
