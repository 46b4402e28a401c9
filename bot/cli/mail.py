"""`coordbot mail ingest [--json] [FILE|-]` and `coordbot attendance EVENT [--json]`.

`mail ingest` handles one RFC 5322 message (a Postfix pipe, procmail, tests), prints what it
did, and delivers the reply it queued before exiting, as `coordbot broadcast` does (what
cannot go out is left queued for `coordbot run`). Exit 0 for every message it could read,
including ones it ignores on purpose; 1 for a message a person has to look at (the
coordinators are told); 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.support import open_services, print_json
from bot.delivery.broadcast import deliver_until_finished
from bot.delivery.component import build_workers
from bot.delivery.pacing import RealPacer
from bot.inbound.attendance import attendance
from bot.inbound.process import Handled, Processor
from bot.inbound.questions import REPLY_SOURCE
from bot.services import Services

INGEST_RETRY_SECONDS = 10.0


def cmd_mail(args: argparse.Namespace) -> int:
    """mail ingest: handle one message from a file or standard input."""
    try:
        if args.file in (None, "-"):
            raw = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                raw = handle.read()
    except OSError as exc:
        print(f"coordbot mail: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with open_services(args) as services:
        result = Processor(services).handle(raw)
        delivered = ""
        if result.reply_queued:
            delivered = asyncio.run(_deliver_reply(services, result))
    if args.json:
        out = result.to_json()
        if delivered:
            out["delivery"] = delivered
        print_json(out)
    else:
        print(f"{result.kind}: {result.action}: {result.detail}")
        if delivered:
            print(f"reply: {delivered}")
    return 0 if result.readable else 1


async def _deliver_reply(services: Services, result: Handled) -> str:
    """Send the queued reply now; its final status (or `pending` when left for `coordbot run`)."""
    source = (REPLY_SOURCE, result.key)
    workers = build_workers(
        services, telegram=None, mailer=services.mailer, pacer=RealPacer(), source=source
    )
    progress = await deliver_until_finished(
        workers,
        services.outbox,
        services.clock,
        source,
        # A mail pipe waits for this command: retry briefly, then leave it to `coordbot run`.
        give_up_after=min(services.config.delivery.broadcast_retry_seconds, INGEST_RETRY_SECONDS),
    )
    for status in ("sent", "failed", "cancelled"):
        if progress.counts.get(status):
            return status
    return "pending (left queued for `coordbot run`)"


def cmd_attendance(args: argparse.Namespace) -> int:
    """attendance EVENT: one row per invitee with their answer."""
    with open_services(args) as services:
        data = services.registry.snapshot()
        if args.event not in data.event_by_key:
            known = ", ".join(sorted(data.event_by_key))
            print(f"coordbot attendance: no event {args.event!r}; events: {known}", file=sys.stderr)
            return 2
        rows = attendance(services.db, args.event)
        zone = services.zone
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print(f"Nobody has been invited to {args.event} yet.")
    for row in rows:
        when = row.updated.astimezone(zone).strftime("%Y-%m-%d %H:%M") if row.updated else "-"
        comment = f"  ({row.comment})" if row.comment else ""
        print(f"{row.partstat:<13} {when:<16} {row.name} <{row.email}>{comment}")
    return 0
