"""`coordbot remind plan|done|undone` and `coordbot broadcast` (DESIGN.md's CLI contract).

`broadcast` queues one outbox row per recipient and channel, then delivers them with a
progress bar on stderr and prints the report; temporary failures are retried for
`delivery.broadcast_retry_seconds`, and what is still pending then is left for `coordbot run`.
A refused input exits 2 with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from datetime import datetime
from typing import TextIO

from bot.cli.support import open_services
from bot.delivery.broadcast import (
    BroadcastRefused,
    BroadcastRequest,
    broadcast_report,
    check_request,
    deliver_until_finished,
    format_report,
    queue_broadcast,
    reach_of,
    read_text_file,
    save_draft,
    source_of,
)
from bot.delivery.component import build_workers
from bot.delivery.hold import hold_pending, holds
from bot.delivery.models import EMAIL, TELEGRAM
from bot.delivery.outbox import Progress
from bot.delivery.pacing import RealPacer
from bot.delivery.recipients import Reach
from bot.delivery.telegram import SendError, TelegramTransport
from bot.i18n import ngettext
from bot.registry.marks import MarkError, done_marks, mark_done, resolve_target, unmark_done
from bot.services import Services
from schedules.fire import current_rules
from schedules.fire import reach_of as reminder_reach
from schedules.plan import PlannedReminder, due_now, plan_reminders, upcoming


def cmd_remind(args: argparse.Namespace) -> int:
    """remind plan | done EVENT MUNICIPALITY | undone EVENT MUNICIPALITY."""
    with open_services(args, getattr(args, "now", None)) as services:
        if args.remind_command == "plan":
            print_plan(services, sys.stdout)
            return 0
        try:
            target = resolve_target(services.registry.snapshot(), args.event, args.municipality)
        except MarkError as exc:
            print(f"coordbot: {exc}", file=sys.stderr)
            return 2
        place, event = target.municipality.name, target.event.key
        if args.remind_command == "done":
            changed = mark_done(services.db, target, by="cli", now=services.clock.now())
            print(
                f"{place} has met {event}: no more reminders for it."
                if changed
                else f"{place} was already marked as having met {event}."
            )
        else:
            changed = unmark_done(services.db, target)
            print(
                f"{place} is no longer marked as having met {event}: reminders resume."
                if changed
                else f"{place} was not marked as having met {event}."
            )
        return 0


def _when(value: datetime, services: Services) -> str:
    return value.astimezone(services.zone).strftime("%Y-%m-%d %H:%M")


def print_plan(services: Services, out: TextIO) -> None:
    """What reminders go out when, to whom; missed ones that will go out late are marked."""
    now = services.clock.now()
    rules = current_rules(services)
    data = services.registry.snapshot()
    plan = plan_reminders(data, rules, now, done_marks(services.db))
    late = [
        r
        for r in due_now(plan, now)
        if not services.outbox.progress(("reminder", r.source_id)).total
    ]
    coming = upcoming(plan, now)
    channels = ", ".join(rules.channels)
    print(
        f"Reminders as of {_when(now, services)} {services.zone.key} (channels: {channels})",
        file=out,
    )
    if not late and not coming:
        print("Nothing planned.", file=out)
    for reminder in late:
        _print_reminder(
            services, reminder, out, note="LATE: missed; goes out when `coordbot run` starts"
        )
    for reminder in coming:
        _print_reminder(services, reminder, out)


def _print_reminder(
    services: Services, reminder: PlannedReminder, out: TextIO, note: str = ""
) -> None:
    data = services.registry.snapshot()
    event = reminder.event
    audience = data.audience_by_key.get(reminder.audience or "")
    print("", file=out)
    head = (
        f"{_when(reminder.due, services)}  {reminder.lead.label()}  {event.key}: "
        f"{event.title('en')} ({event.start_date.isoformat()})"
    )
    print(head + (f"  [{note}]" if note else ""), file=out)
    reach = reminder_reach(services, reminder, current_rules(services))
    who = audience.name_en if audience else "the whole programme"
    people = {t.person.key for t in reminder.targets}
    print(
        f"  to {who}: {len(people)} people, {len(reach.recipients)} messages "
        f"({_count_by_channel(reach)})",
        file=out,
    )
    places = {t.person.key: t.municipality for t in reminder.targets}
    for recipient in reach.recipients:
        place = places.get(recipient.key)
        where = f" ({data.municipality_by_key[place].name})" if place else ""
        print(f"    {recipient.channel:<8} {recipient.name}{where} <{recipient.address}>", file=out)
    _print_skipped(reach, out)
    if event.kind == "deadline" and audience is not None:
        marks = done_marks(services.db)
        done = [m for m in audience.municipalities if (event.key, m) in marks]
        reminded = {t.municipality for t in reminder.targets}
        nobody = [m for m in audience.municipalities if m not in reminded and m not in done]
        for label, keys in (("already done", done), ("nobody in the registry at", nobody)):
            names = [
                data.municipality_by_key[k].name for k in keys if k in data.municipality_by_key
            ]
            if names:
                print(f"  {label}: {', '.join(names)}", file=out)


def _count_by_channel(reach: Reach) -> str:
    counts: dict[str, int] = defaultdict(int)
    for recipient in reach.recipients:
        counts[recipient.channel] += 1
    return ", ".join(f"{c} {n}" for c, n in sorted(counts.items())) or "none"


def _print_skipped(reach: Reach, out: TextIO) -> None:
    by_reason: dict[tuple[str, str], list[str]] = defaultdict(list)
    for skip in reach.skipped:
        by_reason[(skip.channel, skip.reason)].append(skip.name)
    for (channel, reason), names in sorted(by_reason.items()):
        listed = ", ".join(names) if len(names) <= 4 else f"{len(names)} people"
        print(f"    not by {channel}: {listed}: {reason}", file=out)


# --- broadcast -------------------------------------------------------------------------------


def cmd_broadcast(args: argparse.Namespace) -> int:
    """Queue a broadcast, deliver it with a progress bar, print the report."""
    with open_services(args) as services:
        try:
            text = (
                args.text
                if args.text is not None
                else read_text_file(args.file, services.config.delivery.max_file_bytes)
            )
            request = check_request(
                services,
                audience=args.audience,
                channels=args.channel,
                subject=args.subject,
                text=text,
                created_by="cli",
                widen=args.widen,
            )
        except BroadcastRefused as exc:
            print(f"coordbot: broadcast refused: {exc}", file=sys.stderr)
            return 2
        if args.dry_run:
            print_preview(request, reach_of(services, request), sys.stdout)
            return 0
        broadcast_id = save_draft(services, request)
        count = queue_broadcast(services, broadcast_id)
        print(
            f"Broadcast #{broadcast_id} to {request.audience.name_en}: "
            + ngettext("en", "{n} message queued", "{n} messages queued", count),
            file=sys.stderr,
        )
        notes = asyncio.run(_deliver(services, broadcast_id, request, sys.stderr))
        for note in notes:
            print(note, file=sys.stderr)
        report = broadcast_report(services, broadcast_id)
        print(format_report(report))
        if report.sent == 0 and report.pending == 0:
            # Nothing went out and nothing is left to retry: a script must not read success.
            print("coordbot: broadcast: nothing could be sent", file=sys.stderr)
            return 3
        return 0


def print_preview(request: BroadcastRequest, reach: Reach, out: TextIO) -> None:
    """What a broadcast would do (nothing is queued)."""
    print(
        f"Dry run: broadcast to {request.audience.name_en} on {', '.join(request.channels)}; "
        + ngettext(
            "en",
            "{n} message would be queued",
            "{n} messages would be queued",
            len(reach.recipients),
        ),
        file=out,
    )
    print(f"Subject: {request.subject}", file=out)
    print(f"Reaching: {request.reach_note()}", file=out)
    for recipient in reach.recipients:
        print(f"  {recipient.channel:<8} {recipient.name} <{recipient.address}>", file=out)
    for skip in reach.skipped:
        print(f"  {skip.kind}: {skip.name} ({skip.channel}): {skip.reason}", file=out)


async def _deliver(
    services: Services, broadcast_id: int, request: BroadcastRequest, err: TextIO
) -> list[str]:
    notes: list[str] = []
    transport: TelegramTransport | None = None
    held = holds(services.config)
    for channel, hold in sorted(held.items()):
        if channel in request.channels:
            # Delivery safety: these rows wait, visibly, until the operator releases them.
            await asyncio.to_thread(hold_pending, services.db, hold, source_of(broadcast_id))
            notes.append(f"{channel} messages held: {hold.reason}; {hold.release}")
    if TELEGRAM in request.channels and TELEGRAM not in held:
        if services.config.telegram.token:
            from handlers.telegram.outbound import PtbTransport

            transport = PtbTransport(services.config.telegram)
            try:
                await transport.open()
            except SendError as exc:
                notes.append(f"Telegram messages left queued for `coordbot run`: {exc}")
                transport = None
        else:
            notes.append(
                "Telegram messages left queued for `coordbot run`: no telegram.token configured"
            )
    workers = build_workers(
        services,
        telegram=transport,
        mailer=services.mailer if EMAIL in request.channels and EMAIL not in held else None,
        pacer=RealPacer(),
        source=source_of(broadcast_id),
    )
    bar = ProgressBar(err)
    try:
        if workers:
            await deliver_until_finished(
                workers,
                services.outbox,
                services.clock,
                source_of(broadcast_id),
                give_up_after=services.config.delivery.broadcast_retry_seconds,
                on_progress=bar.update,
            )
    finally:
        bar.close()
        if transport is not None:
            await transport.close()
    return notes


class ProgressBar:
    """A one-line bar on a terminal; on anything else, a plain line at every tenth."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._last_step = -1
        self._shown = False

    def update(self, progress: Progress) -> None:
        """Show the progress of the rows (sent, failed, cancelled: done)."""
        total, done = progress.total, progress.done
        if not total:
            return
        sent, failed = progress.counts.get("sent", 0), progress.counts.get("failed", 0)
        line = f"{done}/{total} done, {sent} sent, {failed} failed"
        if self._tty:
            filled = self._width * done // total
            bar = "#" * filled + "-" * (self._width - filled)
            self._stream.write(f"\r[{bar}] {line}")
            self._stream.flush()
            self._shown = True
            return
        step = 10 * done // total
        if step != self._last_step:
            self._last_step = step
            self._stream.write(f"progress: {line}\n")
            self._stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self._tty and self._shown:
            self._stream.write("\n")
            self._stream.flush()
