"""/attendance EVENT for coordinators: who answered an event's invite how."""

from __future__ import annotations

from bot.chat.reply import Reply, plain, text_reply
from bot.i18n import N_, Lang, format_datetime, gettext
from bot.inbound.attendance import attendance
from bot.services import Services

_LABELS = {
    "ACCEPTED": N_("accepted"),
    "DECLINED": N_("declined"),
    "TENTATIVE": N_("tentative"),
    "DELEGATED": N_("delegated"),
    "NEEDS-ACTION": N_("no answer yet"),
}


def attendance_command(services: Services, lang: Lang, args: str) -> Reply:
    """The attendance list of one event (by key), one line per invitee."""
    data = services.registry.snapshot()
    key = args.strip().split()[0] if args.strip() else ""
    if key not in data.event_by_key:
        keys = ", ".join(sorted(data.event_by_key))
        return text_reply(
            lang, plain(gettext(lang, "Usage: /attendance EVENT (one of: {keys})", keys=keys))
        )
    event = data.event_by_key[key]
    rows = attendance(services.db, key)
    lines = [gettext(lang, "Answers to the invite for {event}:", event=event.title(lang))]
    if not rows:
        lines = [gettext(lang, "Nobody has been invited to {event} yet.", event=event.title(lang))]
    for row in rows:
        when = format_datetime(row.updated, lang, "short", services.zone) if row.updated else ""
        status = gettext(lang, _LABELS.get(row.partstat, row.partstat))
        line = f"- {row.name or row.email} <{row.email}>: {status}"
        line += f" ({when})" if when else ""
        line += f" - {row.comment}" if row.comment else ""
        lines.append(line)
    return text_reply(lang, *(plain(line) for line in lines))
