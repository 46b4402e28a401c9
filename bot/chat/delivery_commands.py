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
from bot.registry.data import RegistryData
from bot.registry.marks import MarkError, mark_done, resolve_target
from bot.services import Services
from bot.subscriptions import CHANNELS, Subscriptions, chat_subscriber, find_audience

_TEXT = {
    "coordinators_only": (
        "Only the programme's coordinators can do that.",
        "Bare programmets koordinatorer kan gjøre det.",
    ),
    "broadcast_usage": (
        "Usage: /broadcast AUDIENCE [telegram|email|telegram,email] then the message, "
        "e.g. /broadcast network The meeting moves to 10:00. Audiences: {audiences}",
        "Bruk: /broadcast MÅLGRUPPE [telegram|email|telegram,email] og så meldingen, "
        "f.eks. /broadcast nettverket Møtet flyttes til kl. 10. Målgrupper: {audiences}",
    ),
    "refused": ("Not sent: {reason}", "Ikke sendt: {reason}"),
    "preview": (
        "Broadcast to {audience} on {channels}: {count} message(s); {skipped} member(s) not "
        "reachable or unsubscribed.\nSubject: {subject}\n\n{text}\n\nSend it?",
        "Utsending til {audience} på {channels}: {count} melding(er); {skipped} medlem(mer) "
        "kan ikke nås eller har meldt seg av.\nEmne: {subject}\n\n{text}\n\nSende?",
    ),
    "queued": (
        "Broadcast #{id}: {count} message(s) queued.",
        "Utsending #{id}: {count} melding(er) i kø.",
    ),
    "progress": (
        "Broadcast #{id}: {done}/{total} done ({sent} sent, {failed} failed)…",
        "Utsending #{id}: {done}/{total} ferdig ({sent} sendt, {failed} feilet)…",
    ),
    "cancelled": (
        "Broadcast cancelled; nothing was sent.",
        "Utsendingen er avbrutt; ingenting er sendt.",
    ),
    "gone": (
        "That broadcast was already sent or cancelled.",
        "Den utsendingen er allerede sendt eller avbrutt.",
    ),
    "sub_usage": (
        "Usage: /{command} AUDIENCE [telegram|email]. Audiences: {audiences}",
        "Bruk: /{command} MÅLGRUPPE [telegram|email]. Målgrupper: {audiences}",
    ),
    "no_audience": (
        "There is no audience called {name!r}. Audiences: {audiences}",
        "Det finnes ingen målgruppe som heter {name!r}. Målgrupper: {audiences}",
    ),
    "email_needs_link": (
        "E-mail goes to registry people only; ask a coordinator to link your chat to you.",
        "E-post går bare til personer i registeret; be en koordinator koble chatten din til deg.",
    ),
    "subscribed": (
        "You now get {audience} messages on {channels}.",
        "Du får nå meldinger til {audience} på {channels}.",
    ),
    "unsubscribed": (
        "You no longer get {audience} messages on {channels}.",
        "Du får ikke lenger meldinger til {audience} på {channels}.",
    ),
    "overview_none": (
        "You have made no choices: registry members get their audiences' messages. "
        "/subscribe or /unsubscribe AUDIENCE to change that.",
        "Du har ikke gjort noen valg: medlemmer i registeret får meldingene til sine målgrupper. "
        "/subscribe eller /unsubscribe MÅLGRUPPE for å endre det.",
    ),
    "overview": ("Your choices:", "Dine valg:"),
    "on": ("on", "på"),
    "off": ("off", "av"),
    "done_usage": (
        "Usage: /done DEADLINE MUNICIPALITY, e.g. /done data-deadline Molde",
        "Bruk: /done FRIST KOMMUNE, f.eks. /done data-deadline Molde",
    ),
    "done": (
        "{place} has met {event}: no more reminders for it. Thank you!",
        "{place} har nådd fristen {event}: ingen flere påminnelser om den. Takk!",
    ),
    "already_done": (
        "{place} was already marked as having met {event}.",
        "{place} var allerede markert som ferdig med {event}.",
    ),
    "not_yours": (
        "Only {place}'s own contacts or a coordinator can mark this.",
        "Bare kontaktpersonene i {place} eller en koordinator kan markere dette.",
    ),
}


def text(key: str, lang: str, **params: object) -> str:
    """A delivery UI string in `lang`."""
    english, norwegian = _TEXT[key]
    return (norwegian if lang == "nb" else english).format(**params)


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
        return Draft(text("coordinators_only", lang))
    data = services.registry.snapshot()
    head, _sep, rest = args.strip().partition("\n")
    words = head.split()
    audience_words = 0
    for n in (3, 2, 1):
        if len(words) >= n and find_audience(data, " ".join(words[:n])) is not None:
            audience_words = n
            break
    if not audience_words:
        return Draft(text("broadcast_usage", lang, audiences=_audiences(data)))
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
        return Draft(text("refused", lang, reason=exc))
    reach = reach_of(services, request)
    broadcast_id = save_draft(services, request)
    preview = text(
        "preview",
        lang,
        audience=request.audience.name(lang),
        channels=", ".join(request.channels),
        count=len(reach.recipients),
        skipped=len(reach.skipped),
        subject=request.subject,
        text=request.text,
    )
    return Draft(preview, broadcast_id)


def confirm_broadcast(services: Services, user_id: int, broadcast_id: int, lang: str) -> str:
    """The coordinator pressed Send: queue the draft (once)."""
    if not access.is_coordinator(services.config, user_id):
        return text("coordinators_only", lang)
    try:
        _request, status = load_request(services, broadcast_id)
        if status != "draft":
            return text("gone", lang)
        count = queue_broadcast(services, broadcast_id)
    except BroadcastRefused as exc:
        return text("refused", lang, reason=exc)
    return text("queued", lang, id=broadcast_id, count=count)


def cancel_broadcast(services: Services, user_id: int, broadcast_id: int, lang: str) -> str:
    """The coordinator pressed Cancel."""
    if not access.is_coordinator(services.config, user_id):
        return text("coordinators_only", lang)
    return text("cancelled" if cancel_draft(services, broadcast_id) else "gone", lang)


def progress_text(broadcast_id: int, progress: Progress, lang: str) -> str:
    """The line a progress message shows while a broadcast goes out."""
    return text(
        "progress",
        lang,
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
        return text("sub_usage", lang, command=command, audiences=_audiences(data))
    audience = find_audience(data, " ".join(words))
    if audience is None:
        return text("no_audience", lang, name=" ".join(words), audiences=_audiences(data))
    subscriber, linked = _subscriber(services, user_id)
    if not channels:
        channels = CHANNELS if linked else (TELEGRAM,)
    if EMAIL in channels and not linked:
        return text("email_needs_link", lang)
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    for channel in channels:
        subscriptions.record(subscriber, audience.key, channel, subscribe, "telegram")
    key = "subscribed" if subscribe else "unsubscribed"
    return text(key, lang, audience=audience.name(lang), channels=", ".join(channels))


def subscription_overview(services: Services, user_id: int, lang: str) -> str:
    """/subscriptions: the user's explicit choices."""
    subscriber, _linked = _subscriber(services, user_id)
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    choices = subscriptions.choices_of(subscriber)
    if not choices:
        return text("overview_none", lang)
    data = services.registry.snapshot()
    lines = [text("overview", lang)]
    for audience_key, channel, subscribed in choices:
        audience = data.audience_by_key.get(audience_key)
        name = audience.name(lang) if audience else audience_key
        lines.append(f"- {name} ({channel}): {text('on' if subscribed else 'off', lang)}")
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
        return str(exc), False
    if not access.is_coordinator(services.config, user_id):
        user = access.find_chat_user(services.db, user_id)
        person = data.person_by_key.get(user.person_key or "") if user else None
        place = target.municipality.key
        if person is None or not any(r.municipality == place for r in person.roles):
            return text("not_yours", lang, place=target.municipality.name), False
    changed = mark_done(services.db, target, by=f"telegram:{user_id}", now=services.clock.now())
    key = "done" if changed else "already_done"
    return text(key, lang, place=target.municipality.name, event=target.event.title(lang)), True


def done_command(services: Services, user_id: int, args: str, lang: str) -> str:
    """/done DEADLINE MUNICIPALITY (coordinators; contacts may mark their own)."""
    words = args.split()
    if len(words) < 2:
        return text("done_usage", lang)
    reply, _marked = mark_deadline_done(services, user_id, words[0], " ".join(words[1:]), lang)
    return reply
