"""What the dashboard's buttons do. Each action returns the sentence the next page shows,
in the session's language, saying what changed (or why nothing did).

The synchronous ones touch the database: the views run them through asyncio.to_thread.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import update

from bot.calendar.dispatch import InviteError, prepare_invites, send_invites
from bot.delivery.broadcast import source_of
from bot.delivery.models import FAILED, PENDING, OutboxMessage
from bot.i18n import gettext, ngettext
from bot.registry.marks import MarkError, mark_done, resolve_target, unmark_done
from bot.services import Services


def set_delivered(
    services: Services, holder: str, event_key: str, municipality_key: str, done: bool, lang: str
) -> str:
    """Mark a municipality as having met a deadline (reminders to it stop) or undo that
    (reminders resume). The running scheduler sees the change on its next registry check."""
    data = services.registry.snapshot()
    try:
        target = resolve_target(data, event_key, municipality_key)
    except MarkError as exc:
        return exc.text(lang)
    place, event = target.municipality.name, target.event.title(lang)
    if done:
        changed = mark_done(services.db, target, by=f"dashboard:{holder}", now=services.clock.now())
        if changed:
            return gettext(
                lang,
                "{place} is now marked as having delivered “{event}”; its reminders stop.",
                place=place,
                event=event,
            )
        return gettext(
            lang,
            "{place} was already marked as having delivered “{event}”.",
            place=place,
            event=event,
        )
    if unmark_done(services.db, target):
        return gettext(
            lang,
            "{place} is no longer marked as having delivered “{event}”; its reminders resume.",
            place=place,
            event=event,
        )
    return gettext(
        lang, "{place} was not marked as having delivered “{event}”.", place=place, event=event
    )


def retry_failed(services: Services, broadcast_id: int, lang: str) -> str:
    """Queue a broadcast's failed messages again (not those to unreachable addresses, which
    would only fail again); the delivery worker sends them."""
    now = services.clock.now()
    kind, ident = source_of(broadcast_id)
    with services.db.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.source_kind == kind,
                OutboxMessage.source_id == ident,
                OutboxMessage.status == FAILED,
                OutboxMessage.unreachable.is_(False),
            )
            .values(status=PENDING, next_attempt_at=now, attempts=0)
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        services.outbox.notify()
    return ngettext(
        lang,
        "Broadcast #{id}: {n} failed message queued again.",
        "Broadcast #{id}: {n} failed messages queued again.",
        count,
        id=broadcast_id,
    )


async def send_meeting_invites(services: Services, event_key: str, lang: str) -> str:
    """Send the meeting's invite (iMIP REQUEST) to every member of its audiences who does
    not have the current version yet, through the invite dispatch and its ledger."""
    data = services.registry.snapshot()
    event = data.event_by_key.get(event_key)
    if event is None or event.kind != "meeting":
        return gettext(lang, "There is no meeting “{key}”.", key=event_key)
    if not event.audiences:
        return gettext(lang, "“{event}” has no audience to invite.", event=event.title(lang))
    outcomes = []
    try:
        for audience in event.audiences:
            batch = await asyncio.to_thread(
                prepare_invites, services, event_key, audience=audience, lang=lang
            )
            outcomes += await send_invites(services, batch, services.mailer)
    except InviteError as exc:
        return gettext(lang, "No invites sent: {reason}", reason=str(exc))
    counts = Counter(o.status for o in outcomes)
    parts = [
        ngettext(lang, "{n} invite sent", "{n} invites sent", counts["sent"]),
        ngettext(lang, "{n} already had it", "{n} already had it", counts["already-sent"]),
        ngettext(lang, "{n} failed", "{n} failed", counts["failed"]),
        ngettext(lang, "{n} without an address", "{n} without an address", counts["skipped"]),
    ]
    return gettext(lang, "“{event}”: {parts}.", event=event.title(lang), parts="; ".join(parts))
