"""`coordbot ics feed|invite`: subscription calendars and iMIP invites from the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bot.calendar.dispatch import (
    InviteBatch,
    InviteError,
    InviteOutcome,
    prepare_invites,
    send_invites,
)
from bot.calendar.feeds import UnknownFeed, feed_document, links_for, resolve_feed
from bot.cli.support import open_services


def cmd_ics(args: argparse.Namespace) -> int:
    """Dispatch `coordbot ics feed` and `coordbot ics invite`."""
    if args.ics_command == "feed":
        return _feed(args)
    return _invite(args)


def _feed(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        lang = args.lang or services.config.bot.default_language
        data = services.registry.snapshot()
        try:
            spec = resolve_feed(data, lang, audience=args.audience, municipality=args.municipality)
        except UnknownFeed as exc:
            print(f"coordbot: {exc.args[0]}", file=sys.stderr)
            return 2
        if args.links:
            links = links_for(data, services.config.calendar, lang)
            if args.audience or args.municipality:
                links = [link for link in links if link.name == spec.name]
            for link in links:
                print(f"{link.name}\t{link.title}\t{link.url}\t{link.webcal_url}")
            return 0
        document = feed_document(data, spec, services.config.calendar, lang)
    if args.output:
        _write_atomically(Path(args.output), document)
    else:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
    return 0


def _write_atomically(path: Path, document: bytes) -> None:
    """Write via a temporary file in the same directory, so readers never see half a feed."""
    handle, temp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(document)
        # mkstemp makes the file private; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _invite(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        try:
            batch = prepare_invites(
                services,
                args.event_key,
                to=args.to,
                audience=args.audience,
                cancel=args.cancel,
                lang=args.lang,
                # Printing shows the message whatever the ledger says; sending skips repeats.
                skip_sent=args.send,
            )
        except InviteError as exc:
            print(f"coordbot: {exc}", file=sys.stderr)
            return 2
        if not args.send:
            return _print_batch(batch, single=args.to is not None)
        from bot.delivery.hold import hold_for

        hold = hold_for(services.config, "email")
        if hold is not None:
            # Delivery safety (DESIGN.md): nothing reaches a real person until released.
            print(
                f"coordbot: e-mail delivery is held: {hold.reason}; {hold.release}. "
                "Nothing was sent.",
                file=sys.stderr,
            )
            return 3
        try:
            outcomes = asyncio.run(send_invites(services, batch, services.mailer))
        except InviteError as exc:
            print(f"coordbot: {exc}", file=sys.stderr)
            return 2
    _print_report(batch, outcomes)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _print_batch(batch: InviteBatch, *, single: bool) -> int:
    if batch.cancel_in_registry:
        print(
            f"coordbot: note: {batch.event.key} is not cancelled in the registry; with --send "
            f"the cancellation is recorded (SEQUENCE {batch.sequence}) and feeds show it",
            file=sys.stderr,
        )
    if single:
        failed = [o for o in batch.outcomes if o.status == "failed"]
        if failed:
            print(f"coordbot: cannot build the invite: {failed[0].reason}", file=sys.stderr)
            return 2
        _invitee, message = batch.ready[0]
        sys.stdout.buffer.write(bytes(message))
        sys.stdout.flush()
        return 0
    _print_report(batch, batch.outcomes)
    return 0


def _print_report(batch: InviteBatch, outcomes: list[InviteOutcome]) -> None:
    print(f"{batch.event.key}: {batch.method} SEQUENCE {batch.sequence}")
    for o in outcomes:
        who = o.name or ""
        if o.address:
            who = f"{who} <{o.address}>" if who else o.address
        detail = "" if o.status in ("sent", "ready") else f": {o.reason}"
        print(f"  {o.status:<12} {who}{detail}")
    counts = Counter(o.status for o in outcomes)
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no recipients")
