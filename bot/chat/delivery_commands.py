"""Chat commands about delivery, for any transport: /broadcast (coordinators: draft, preview,
confirm), /subscribe, /unsubscribe, /subscriptions, /done and the "done" button of a deadline
reminder. Each returns plain text (the transport escapes it) and, where a button belongs,
the id it acts on."""

from __future__ import annotations

from dataclasses import dataclass

from bot import access
from bot.delivery.broadcast import (
    BroadcastRefused,
    BroadcastReport,
    broadcast_report,
    cancel_draft,
    check_request,
    format_report,
    load_request,
    queue_broadcast,
    reach_of,
    save_draft,
)
from bot.delivery.models import EMAIL, TELEGRAM
from bot.delivery.outbox import Progress
from bot.i18n import format_list, gettext, ngettext
from bot.registry.data import RegistryData
from bot.registry.marks import MarkError, mark_done, resolve_target
from bot.services import Services
from bot.subscriptions import CHANNELS, Subscriptions, chat_subscriber, find_audience


def _audiences(data: RegistryData) -> str:
    return ", ".join(a.key for a in data.audiences)


@dataclass(frozen=True)
class Draft:
    """The answer to /broadcast: a preview with the draft to confirm, or why not."""

    text: str
    broadcast_id: int | None = None


def draft_broadcast(services: Services, user_id: int, args: str, lang: str) -> Draft:
    """Check a /broadcast command and store it as a draft; the preview asks to confirm."""
    if not access.is_coordinator(services.config, user_id):
        return Draft(gettext(lang, "Only the programme's coordinators can do that."))
    data = services.registry.snapshot()
    head, _sep, rest = args.strip().partition("\n")
    words = head.split()
    audience_words = 0
    for n in (3, 2, 1):
        if len(words) >= n and find_audience(data, " ".join(words[:n])) is not None:
            audience_words = n
            break
    if not audience_words:
        return Draft(
            gettext(
                lang,
                "Usage: /broadcast AUDIENCE [telegram|email|telegram,email] then the message, e.g. /broadcast network The meeting moves to 10:00. Audiences: {audiences}",
                audiences=_audiences(data),
            )
        )
    remaining = words[audience_words:]
    channels = "telegram,email"
    if remaining and set(remaining[0].lower().split(",")) <= set(CHANNELS):
        channels, remaining = remaining[0].lower(), remaining[1:]
    body = "\n".join(part for part in (" ".join(remaining), rest) if part.strip())
    try:
        request = check_request(
            services,
            audience=" ".join(words[:audience_words]),
            channels=channels,
            subject=None,
            text=body,
            created_by=f"telegram:{user_id}",
        )
    except BroadcastRefused as exc:
        return Draft(gettext(lang, "Not sent: {reason}", reason=exc))
    reach = reach_of(services, request)
    broadcast_id = save_draft(services, request)
    # Counted parts are separate messages so each gets its own plural form.
    head = gettext(
        lang,
        "Broadcast to {audience} on {channels}:",
        audience=request.audience.name(lang),
        channels=format_list(list(request.channels), lang),
    )
    count = ngettext(lang, "{n} message", "{n} messages", len(reach.recipients))
    skipped = ngettext(
        lang,
        "{n} member not reachable or unsubscribed.",
        "{n} members not reachable or unsubscribed.",
        len(reach.skipped),
    )
    subject = gettext(lang, "Subject: {subject}", subject=request.subject)
    question = gettext(lang, "Send it?")
    preview = f"{head} {count}; {skipped}\n{subject}\n\n{request.text}\n\n{question}"
    return Draft(preview, broadcast_id)


def confirm_broadcast(services: Services, user_id: int, broadcast_id: int, lang: str) -> str:
    """The coordinator pressed Send: queue the draft (once)."""
    if not access.is_coordinator(services.config, user_id):
        return gettext(lang, "Only the programme's coordinators can do that.")
    try:
        _request, status = load_request(services, broadcast_id)
        if status != "draft":
            return gettext(lang, "That broadcast was already sent or cancelled.")
        count = queue_broadcast(services, broadcast_id)
    except BroadcastRefused as exc:
        return gettext(lang, "Not sent: {reason}", reason=exc)
    return ngettext(
        lang,
        "Broadcast #{id}: {n} message queued.",
        "Broadcast #{id}: {n} messages queued.",
        count,
        id=broadcast_id,
    )


def cancel_broadcast(services: Services, user_id: int, broadcast_id: int, lang: str) -> str:
    """The coordinator pressed Cancel."""
    if not access.is_coordinator(services.config, user_id):
        return gettext(lang, "Only the programme's coordinators can do that.")
    return (
        gettext(lang, "Broadcast cancelled; nothing was sent.")
        if cancel_draft(services, broadcast_id)
        else gettext(lang, "That broadcast was already sent or cancelled.")
    )


def progress_text(broadcast_id: int, progress: Progress, lang: str) -> str:
    """The line a progress message shows while a broadcast goes out."""
    return gettext(
        lang,
        "Broadcast #{id}: {done}/{total} done ({sent} sent, {failed} failed)…",
        id=broadcast_id,
        done=progress.done,
        total=progress.total,
        sent=progress.counts.get("sent", 0),
        failed=progress.counts.get("failed", 0),
    )


def report_text(services: Services, broadcast_id: int) -> tuple[str, BroadcastReport]:
    """The final report of a broadcast."""
    report = broadcast_report(services, broadcast_id)
    return format_report(report), report


# --- subscriptions ---------------------------------------------------------------------------


def _subscriber(services: Services, user_id: int) -> tuple[str, bool]:
    user = access.find_chat_user(services.db, user_id)
    if user is not None and user.person_key:
        return user.person_key, True
    return chat_subscriber(user_id), False


def change_subscription(
    services: Services, user_id: int, args: str, *, subscribe: bool, lang: str
) -> str:
    """/subscribe or /unsubscribe AUDIENCE [telegram|email]."""
    data = services.registry.snapshot()
    command = "subscribe" if subscribe else "unsubscribe"
    words = args.split()
    channels: tuple[str, ...] = ()
    if words and words[-1].lower() in CHANNELS:
        channels, words = (words[-1].lower(),), words[:-1]
    if not words:
        return gettext(
            lang,
            "Usage: /{command} AUDIENCE [telegram|email]. Audiences: {audiences}",
            command=command,
            audiences=_audiences(data),
        )
    audience = find_audience(data, " ".join(words))
    if audience is None:
        return gettext(
            lang,
            "There is no audience called {name!r}. Audiences: {audiences}",
            name=" ".join(words),
            audiences=_audiences(data),
        )
    subscriber, linked = _subscriber(services, user_id)
    if not channels:
        channels = CHANNELS if linked else (TELEGRAM,)
    if EMAIL in channels and not linked:
        return gettext(
            lang, "E-mail goes to registry people only; ask a coordinator to link your chat to you."
        )
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    for channel in channels:
        subscriptions.record(subscriber, audience.key, channel, subscribe, "telegram")
    shown = format_list(list(channels), lang)
    if subscribe:
        return gettext(
            lang,
            "You now get {audience} messages on {channels}.",
            audience=audience.name(lang),
            channels=shown,
        )
    return gettext(
        lang,
        "You no longer get {audience} messages on {channels}.",
        audience=audience.name(lang),
        channels=shown,
    )


def subscription_overview(services: Services, user_id: int, lang: str) -> str:
    """/subscriptions: the user's explicit choices."""
    subscriber, _linked = _subscriber(services, user_id)
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    choices = subscriptions.choices_of(subscriber)
    if not choices:
        return gettext(
            lang,
            "You have made no choices: registry members get their audiences' messages. /subscribe or /unsubscribe AUDIENCE to change that.",
        )
    data = services.registry.snapshot()
    lines = [gettext(lang, "Your choices:")]
    for audience_key, channel, subscribed in choices:
        audience = data.audience_by_key.get(audience_key)
        name = audience.name(lang) if audience else audience_key
        lines.append(
            f"- {name} ({channel}): "
            + (gettext(lang, "on") if subscribed else gettext(lang, "off"))
        )
    return "\n".join(lines)


# --- "deadline met" ----------------------------------------------------------------------------


def mark_deadline_done(
    services: Services, user_id: int, event_name: str, municipality_name: str, lang: str
) -> tuple[str, bool]:
    """/done or the reminder's button: coordinators may mark any municipality, a linked
    contact only their own. Returns the reply and whether the deadline is now marked met."""
    data = services.registry.snapshot()
    try:
        target = resolve_target(data, event_name, municipality_name)
    except MarkError as exc:
        return exc.text(lang), False
    if not access.is_coordinator(services.config, user_id):
        user = access.find_chat_user(services.db, user_id)
        person = data.person_by_key.get(user.person_key or "") if user else None
        place = target.municipality.key
        if person is None or not any(r.municipality == place for r in person.roles):
            return gettext(
                lang,
                "Only {place}'s own contacts or a coordinator can mark this.",
                place=target.municipality.name,
            ), False
    changed = mark_done(services.db, target, by=f"telegram:{user_id}", now=services.clock.now())
    place, event = target.municipality.name, target.event.title(lang)
    if changed:
        return gettext(
            lang,
            "{place} has met {event}: no more reminders for it. Thank you!",
            place=place,
            event=event,
        ), True
    return gettext(
        lang, "{place} was already marked as having met {event}.", place=place, event=event
    ), True


def done_command(services: Services, user_id: int, args: str, lang: str) -> str:
    """/done DEADLINE MUNICIPALITY (coordinators; contacts may mark their own)."""
    words = args.split()
    if len(words) < 2:
        return gettext(lang, "Usage: /done DEADLINE MUNICIPALITY, e.g. /done data-deadline Molde")
    reply, _marked = mark_deadline_done(services, user_id, words[0], " ".join(words[1:]), lang)
    return reply
