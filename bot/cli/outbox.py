"""`coordbot outbox [--json] [--status S]`: what is held, pending, failed or sent;
`coordbot outbox purge [--days N] [--now ISO8601] [--dry-run]`: the retention period now.

JSON: a list of {"id", "status", "channel", "source", "recipient", "name", "address",
"subject", "attempts", "created", "next_attempt", "sent", "error"}, dates ISO 8601.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import select

from bot.cli.support import open_services, print_json
from bot.delivery.hold import holds
from bot.delivery.models import OutboxMessage


def cmd_outbox(args: argparse.Namespace) -> int:
    """List outbox messages (newest last), optionally of one status; or `purge`."""
    if getattr(args, "outbox_command", None) == "purge":
        return _purge(args)
    with open_services(args) as services:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if args.status:
            query = query.where(OutboxMessage.status == args.status)
        with services.db.session() as session:
            rows = [_row(m) for m in session.scalars(query)]
        if args.json:
            print_json(rows)
            return 0
        held = holds(services.config)
        for channel, hold in sorted(held.items()):
            print(f"{channel}: held: {hold.reason}; {hold.release}", file=sys.stderr)
        if not rows:
            print("The outbox is empty." if not args.status else f"No {args.status} messages.")
        for row in rows:
            why = f"  ({row['error']})" if row["error"] else ""
            print(
                f"#{row['id']:<5} {row['status']:<9} {row['channel']:<8} {row['source']:<40} "
                f"{row['name'] or row['recipient']} <{row['address']}>{why}"
            )
        return 0


def _purge(args: argparse.Namespace) -> int:
    """Erase expired message bodies now (bot.privacy.retention)."""
    from bot.privacy.retention import count_expired, cutoff, purge_expired

    if args.days is not None and args.days < 0:
        print("coordbot: --days must be 0 or more", file=sys.stderr)
        return 2
    with open_services(args, now=args.now) as services:
        days = services.config.delivery.retention_days if args.days is None else args.days
        now = services.clock.now()
        before = cutoff(now, days)
        if before is None:
            print("Retention is 0 days: messages are kept forever; nothing purged.")
            return 0
        since = before.astimezone(services.zone).strftime("%Y-%m-%d %H:%M")
        if args.dry_run:
            n = count_expired(services.db, now, days)
            print(
                f"Would purge {n} message(s) final before {since} ({days} days); nothing changed."
            )
            return 0
        n = purge_expired(services.db, now, days)
        print(
            f"Purged {n} message(s) final before {since} ({days} days): bodies and addresses erased."
        )
        return 0


def _row(m: OutboxMessage) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": m.id,
        "status": m.status,
        "channel": m.channel,
        "source": f"{m.source_kind} {m.source_id}",
        "recipient": m.recipient,
        "name": m.recipient_name,
        "address": m.address,
        "subject": m.subject,
        "attempts": m.attempts,
        "created": iso(m.created_at),
        "next_attempt": iso(m.next_attempt_at),
        "sent": iso(m.sent_at),
        "error": m.last_error,
    }
