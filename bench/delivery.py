"""Delivery benchmarks: Telegram throughput against the rate limit, e-mails per second, and
reminder latency after the due time. Prints the figures; run `python bench/delivery.py`.

1. 3,000 Telegram messages to the loopback Bot API stand-in with its flood limit scaled to
   300 messages/s (and coordbot's limit set to match): achieved rate / limit (target >= 0.9),
   flood violations seen by the stand-in (must be 0) and messages lost (must be 0).
2. 1,000 e-mails to a loopback aiosmtpd server, in batches over one connection: messages/s.
3. Reminder latency: reminders due one to three seconds ahead, driven by the real scheduler
   (APScheduler) and delivered to the stand-in: seconds from due time to arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.access import link_person, record_chat_user
from bot.clock import SystemClock
from bot.config import Config, load_config
from bot.delivery.broadcast import deliver_until_finished
from bot.delivery.component import DeliveryComponent, build_workers
from bot.delivery.outbox import NewMessage
from bot.delivery.pacing import RealPacer
from bot.delivery.render import email_message
from bot.mail import SmtpMailer
from bot.registry_data import AudienceRec, EventRec, PersonRec, RoleRec
from bot.services import Services, build_services
from handlers.telegram.outbound import PtbTransport
from tests.botapi_standin import BotApiStandIn


def _services(workdir: str, **delivery: object) -> Services:
    config = load_config(env={"COORDBOT_BOT_DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3"})
    config = replace(config, delivery=replace(config.delivery, **delivery))  # type: ignore[arg-type]
    return build_services(config, SystemClock())


async def bench_telegram(workdir: str, count: int, limit: int) -> dict[str, float]:
    """Messages to `count` different chats through the worker, stand-in limited to `limit`/s."""
    services = _services(workdir, telegram_per_second=float(limit), telegram_concurrency=64)
    source = ("broadcast", "bench")
    services.outbox.enqueue(
        NewMessage("broadcast", "bench", "telegram", f"chat:{n}", str(n), f"message {n}".encode())
        for n in range(1, count + 1)
    )
    async with BotApiStandIn(flood_limit_per_second=limit) as api:
        config = replace(services.config.telegram, token=api.token, api_base_url=api.base_url)
        transport = PtbTransport(config, pool_size=64)
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
        ok = api.calls_to("sendMessage")
        times = sorted(c.at for c in ok)
        chats = {int(c.params["chat_id"]) for c in ok}
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        result = {
            "sent": float(len(ok)),
            "lost": float(count - len(chats)),
            "duplicates": float(len(ok) - len(chats)),
            "rate": rate,
            "ratio": rate / limit,
            "flood_violations": float(api.flood_violations),
            "wall_seconds": wall,
        }
    services.close()
    return result


async def bench_email(workdir: str, count: int) -> dict[str, float]:
    """`count` e-mails through the e-mail worker to a loopback aiosmtpd server."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=0)
    controller.start()
    try:
        port = controller.server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        services = _services(workdir)
        email_cfg = replace(
            services.config.email, smtp_host="127.0.0.1", smtp_port=port, security="none"
        )
        now = services.clock.now()
        services.outbox.enqueue(
            NewMessage(
                "broadcast",
                "bench-mail",
                "email",
                f"p{n}",
                f"person{n}@example.org",
                email_message(
                    email_cfg,
                    to_name=f"Person {n}",
                    to_address=f"person{n}@example.org",
                    subject="Benchmark",
                    text=f"Message {n}\n" * 20,
                    now=now,
                ),
            )
            for n in range(count)
        )
        workers = build_workers(
            services, telegram=None, mailer=SmtpMailer(email_cfg), pacer=RealPacer()
        )
        started = time.perf_counter()
        await deliver_until_finished(
            workers, services.outbox, services.clock, ("broadcast", "bench-mail"), give_up_after=600
        )
        elapsed = time.perf_counter() - started
        services.close()
    finally:
        controller.stop()
    return {"received": float(len(received)), "rate": len(received) / elapsed, "seconds": elapsed}


async def bench_reminder_latency(workdir: str, reminders: int) -> dict[str, float]:
    """Reminders due 1..N seconds from now, fired by the scheduler, measured on arrival."""
    from schedules.scheduler import ReminderScheduler

    services = _services(workdir)
    zone = services.zone
    now = datetime.now(zone)
    people = tuple(
        PersonRec(f"p{n}", f"Person {n}", None, None, (RoleRec("data_contact", "bench"),))
        for n in range(reminders)
    )
    data = services.registry.snapshot()
    bench_place = replace(data.municipalities[0], key="bench", name="Bench")
    events = tuple(
        EventRec(
            key=f"bench-meeting-{n}",
            kind="meeting",
            title_en=f"Bench meeting {n}",
            title_nb=f"Testmøte {n}",
            start=(now + timedelta(hours=2)).replace(microsecond=0),
            audiences=("bench",),
        )
        for n in range(reminders)
    )
    services.registry.replace(
        replace(
            data,
            municipalities=(*data.municipalities, bench_place),
            people=(*data.people, *people),
            audiences=(
                *data.audiences,
                AudienceRec("bench", "Bench", "Bench", people=tuple(p.key for p in people)),
            ),
            events=(*data.events, *events),
        )
    )
    async with BotApiStandIn() as api:
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
        # Each meeting gets one reminder rule ("Nm" before), due 1..3 s from now.
        dues: dict[str, datetime] = {}
        rules = []
        for n, ev in enumerate(events):
            assert isinstance(ev.start, datetime)
            due = now.replace(microsecond=0) + timedelta(seconds=2 + n % 3)
            dues[ev.key] = due
            minutes = (ev.start - due).total_seconds() / 60
            rules.append(f"bench:meeting={minutes:g}m")
        config = replace(
            services.config,
            reminders=replace(
                services.config.reminders,
                meeting_lead_times=(),
                deadline_lead_times=(),
                audience_lead_times=tuple(sorted(set(rules))),
                channels=("telegram",),
            ),
            telegram=replace(services.config.telegram, token=api.token, api_base_url=api.base_url),
        )
        services.config = config
        scheduler = ReminderScheduler(services)
        delivery = DeliveryComponent(services, telegram=PtbTransport(config.telegram), mailer=None)
        await delivery.start()
        await scheduler.start()
        try:
            await api.wait_for_calls("sendMessage", reminders, timeout=30)
        finally:
            await scheduler.stop()
            await delivery.stop()
        arrivals = {}
        for call in api.calls_to("sendMessage"):
            chat = int(call.params["chat_id"])
            arrivals.setdefault(chat - 10_000, time.time() - (time.monotonic() - call.at))
    services.close()
    latencies = [
        arrivals[n] - dues[ev.key].timestamp() for n, ev in enumerate(events) if n in arrivals
    ]
    return {
        "reminders": float(len(latencies)),
        "median": statistics.median(latencies),
        "max": max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--emails", type=int, default=1000)
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
        with tempfile.TemporaryDirectory() as workdir:
            r = asyncio.run(bench_email(workdir, args.emails))
        print(
            f"email: {int(r['received'])} of {args.emails} received by aiosmtpd in "
            f"{r['seconds']:.1f} s = {r['rate']:.0f} msgs/s"
        )
    if args.only in (None, "reminders"):
        with tempfile.TemporaryDirectory() as workdir:
            r = asyncio.run(bench_reminder_latency(workdir, args.reminders))
        print(
            f"reminders: {int(r['reminders'])} of {args.reminders} arrived; latency after due "
            f"time median {r['median']:.3f} s, max {r['max']:.3f} s (target < 1 s)"
        )


if __name__ == "__main__":
    main()


__all__ = ["Config", "date"]
