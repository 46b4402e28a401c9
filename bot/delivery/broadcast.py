"""Broadcasts: check the input, resolve the audience, queue one outbox row per recipient and
channel, deliver them, and report (sent, failed with reasons, unreachable, unsubscribed).

Used by `coordbot broadcast` and the Telegram /broadcast command alike; neither sends by
itself, both go through the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock
from bot.delivery.models import EMAIL, TELEGRAM, BroadcastRecord
from bot.delivery.outbox import NewMessage, Outbox, Progress, Source
from bot.delivery.recipients import UNREACHABLE, UNSUBSCRIBED, Reach, Recipient, Skip, resolve
from bot.delivery.render import TELEGRAM_LIMIT, email_message, telegram_html, utf16_len
from bot.delivery.worker import ChannelWorker, wait_first
from bot.i18n import gettext, ngettext, reply_language
from bot.inbound.questions import unsubscribe_mailto
from bot.mail import HeaderValueError, header_text, unicode_control_problem
from bot.registry.data import AudienceRec
from bot.registry.quality import email_defects
from bot.services import Services
from bot.subscriptions import Subscriptions, find_audience

SOURCE_KIND = "broadcast"
# Seconds between two looks at a broadcast's progress while it is being delivered.
PROGRESS_INTERVAL = 0.05
# Seconds between two full counts for the progress line (they read the rows).
PROGRESS_REPORT_SECONDS = 0.5
_CONTROL_CHARS = {chr(c) for c in range(32) if chr(c) not in "\n\t"} | {"\x7f"}


class BroadcastRefused(ValueError):
    """Input that cannot be broadcast; the message says why."""


@dataclass(frozen=True)
class BroadcastRequest:
    """A checked broadcast, ready to preview or queue."""

    audience: AudienceRec
    channels: tuple[str, ...]
    subject: str
    text: str
    created_by: str
    # Every contact of the audience's municipalities too (None: the audience's setting).
    widen: bool | None = None

    @property
    def widened(self) -> bool:
        """True when the broadcast reaches every contact of the member municipalities."""
        audience = self.audience
        if not audience.roles:
            return bool(audience.municipalities)
        return audience.widen if self.widen is None else self.widen

    def reach_note(self) -> str:
        """How the audience is taken, for previews and reports."""
        audience = self.audience
        if self.widened and audience.municipalities:
            how = "widened: " if audience.roles else ""
            return f"{how}every contact of its {len(audience.municipalities)} municipalities"
        if audience.roles:
            return f"holders of {', '.join(audience.roles)} (not widened)"
        return "its named members"


def source_of(broadcast_id: int) -> Source:
    """The outbox source of a broadcast's rows."""
    return (SOURCE_KIND, str(broadcast_id))


def parse_channels(text: str | Sequence[str]) -> tuple[str, ...]:
    """ "telegram,email" (or "both") -> ("telegram", "email"); refuses unknown or empty lists."""
    items = text.split(",") if isinstance(text, str) else list(text)
    # "both" (what the refusal below offers) stands for the two channels.
    names = (c.strip().lower() for c in items if c.strip())
    expanded = [
        part for name in names for part in ((TELEGRAM, EMAIL) if name == "both" else (name,))
    ]
    channels = tuple(dict.fromkeys(expanded))
    unknown = [c for c in channels if c not in (TELEGRAM, EMAIL)]
    if unknown or not channels:
        raise BroadcastRefused(
            f"--channel must be telegram, email or both, got {','.join(items) or 'nothing'!r}"
        )
    return channels


def read_text_file(path: str, max_bytes: int) -> str:
    """The text of --file: UTF-8, at most `max_bytes` bytes."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise BroadcastRefused(f"{path} is {size} bytes; the limit is {max_bytes}")
        data = file.read_bytes()
    except OSError as exc:
        raise BroadcastRefused(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BroadcastRefused(f"{path} is not UTF-8 text (byte {exc.start})") from None


def check_request(
    services: Services,
    *,
    audience: str,
    channels: str | Sequence[str],
    subject: str | None,
    text: str,
    created_by: str,
    widen: bool | None = None,
) -> BroadcastRequest:
    """Check every input; raise BroadcastRefused with the reason on the first problem.
    `widen` reaches every contact of the audience's municipalities (an explicit choice)."""
    cfg = services.config.delivery
    found = find_audience(services.registry.snapshot(), audience)
    if found is None:
        known = ", ".join(a.key for a in services.registry.snapshot().audiences)
        raise BroadcastRefused(f"no audience called {audience!r} (known: {known})")
    chosen = parse_channels(channels)
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise BroadcastRefused("the message text is empty")
    if "\r" in body:
        raise BroadcastRefused("the message text contains a carriage return (CR)")
    bad = sorted({f"U+{ord(c):04X}" for c in body if c in _CONTROL_CHARS})
    if bad:
        raise BroadcastRefused(f"the message text contains control characters ({', '.join(bad)})")
    unsafe = unicode_control_problem(body, "the message text")
    if unsafe:
        raise BroadcastRefused(unsafe)
    if len(body) > cfg.max_text_chars:
        raise BroadcastRefused(
            f"the message text has {len(body)} characters; the limit is {cfg.max_text_chars}"
        )
    if TELEGRAM in chosen and utf16_len(body) > cfg.max_text_chars:
        # Telegram counts UTF-16 units: an emoji (or any sign beyond U+FFFF) counts twice.
        raise BroadcastRefused(
            f"the message text counts {utf16_len(body)} characters on Telegram (emoji count "
            f"twice); the limit is {cfg.max_text_chars}"
        )
    title = (subject or "").strip() if subject is not None else ""
    if subject is not None:
        try:
            header_text(subject, "the subject")
        except HeaderValueError as exc:
            raise BroadcastRefused(str(exc)) from None
        if not title:
            raise BroadcastRefused("the subject is empty")
        if len(title) > cfg.max_subject_chars:
            raise BroadcastRefused(
                f"the subject has {len(title)} characters; the limit is {cfg.max_subject_chars}"
            )
    if not title:
        title = f"U4SSC Norge: {found.name_nb}"
    return BroadcastRequest(found, chosen, title, body, created_by, widen)


def reach_of(services: Services, request: BroadcastRequest) -> Reach:
    """Who the broadcast reaches, and who not (and why)."""
    data = services.registry.snapshot()
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    return resolve(
        services.db,
        subscriptions,
        data.audience_members(request.audience.key, widen=request.widen),
        request.channels,
        audience=request.audience.key,
        default_lang=services.config.bot.default_language,
        defects=email_defects(data),
    )


def save_draft(services: Services, request: BroadcastRequest) -> int:
    """Store the broadcast as a draft (Telegram: until the coordinator confirms)."""
    with services.db.session() as session:
        record = BroadcastRecord(
            audience=request.audience.key,
            channels=",".join(request.channels),
            subject=request.subject,
            text=request.text,
            status="draft",
            created_by=request.created_by,
            created_at=services.clock.now(),
            skipped=[],
            widen=request.widen,
        )
        session.add(record)
        session.flush()
        return record.id


def load_request(services: Services, broadcast_id: int) -> tuple[BroadcastRequest, str]:
    """A stored broadcast as a request, with its status."""
    with services.db.session() as session:
        record = session.get(BroadcastRecord, broadcast_id)
        if record is None:
            raise BroadcastRefused(f"no broadcast #{broadcast_id}")
        audience = services.registry.snapshot().audience_by_key.get(record.audience)
        if audience is None:
            raise BroadcastRefused(f"the audience {record.audience!r} no longer exists")
        request = BroadcastRequest(
            audience,
            tuple(record.channels.split(",")),
            record.subject,
            record.text,
            record.created_by,
            record.widen,
        )
        return request, record.status


def queue_broadcast(services: Services, broadcast_id: int) -> int:
    """Resolve the recipients now and queue one outbox row each (a queued broadcast is not
    queued again). Returns the number of rows."""
    request, status = load_request(services, broadcast_id)
    if status == "cancelled":
        raise BroadcastRefused(f"broadcast #{broadcast_id} was cancelled")
    if status == "queued":
        return services.outbox.progress(source_of(broadcast_id)).total
    reach = reach_of(services, request)
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    messages: list[NewMessage] = []
    skipped = list(reach.skipped)
    for recipient in reach.recipients:
        try:
            messages.append(_render(services, subscriptions, broadcast_id, request, recipient))
        except HeaderValueError as exc:  # e.g. a name with a line break in the registry
            skipped.append(
                Skip(recipient.key, recipient.name, recipient.channel, UNREACHABLE, str(exc))
            )
    with services.db.session() as session:
        record = session.get(BroadcastRecord, broadcast_id)
        assert record is not None
        if record.status != "draft":  # confirmed twice at once: the first one queued it
            return services.outbox.progress(source_of(broadcast_id)).total
        services.outbox.enqueue(messages, session=session)
        record.status = "queued"
        record.skipped = [s.as_json() for s in skipped]
    services.outbox.notify()
    return len(messages)


def cancel_draft(services: Services, broadcast_id: int) -> bool:
    """Cancel a draft; False if it was already queued or cancelled."""
    with services.db.session() as session:
        record = session.get(BroadcastRecord, broadcast_id)
        if record is None or record.status != "draft":
            return False
        record.status = "cancelled"
        return True


def _render(
    services: Services,
    subscriptions: Subscriptions,
    broadcast_id: int,
    request: BroadcastRequest,
    recipient: Recipient,
) -> NewMessage:
    audience = request.audience
    # The recipient's language (registry, else bot.default_language) for the wrapping; the
    # coordinator's text itself goes out as written.
    lang = reply_language(recipient.lang)
    name = audience.name(lang)
    sent_to = gettext(lang, "Sent to {audience} by coordbot (U4SSC Norge).", audience=name)
    if recipient.channel == TELEGRAM:
        footer = [
            "",
            sent_to,
            gettext(lang, "To stop these messages: /unsubscribe {key}", key=audience.key),
        ]
        body = telegram_html(request.subject, [request.text, *footer])
        # What Telegram counts is the text once parsed (escapes are one character each).
        if utf16_len("\n".join([request.subject or "", request.text, *footer])) > TELEGRAM_LIMIT:
            raise HeaderValueError("the message is too long for Telegram once escaped")
        options = {"parse_mode": "HTML"}
        subject = request.subject
        data = body.encode("utf-8")
    else:
        url = subscriptions.unsubscribe_url(recipient.key, audience.key, EMAIL, lang)
        domain = services.config.email.sender_domain
        unsubscribe = gettext(lang, "Unsubscribe: {url}", url=url)
        text = f"{request.text}\n\n-- \n{sent_to}\n{unsubscribe}\n"
        data = email_message(
            services.config.email,
            to_name=recipient.name,
            to_address=recipient.address,
            subject=request.subject,
            text=text,
            now=services.clock.now(),
            list_id=f"{audience.name_en} <{audience.key}.{domain}>",
            unsubscribe_url=url,
            reply_to=services.config.inbound.address or None,
            unsubscribe_mailto=unsubscribe_mailto(
                services.config, subscriptions, recipient.key, audience.key
            ),
            bulk=True,
        )
        options = {}
        subject = request.subject
    return NewMessage(
        source_kind=SOURCE_KIND,
        source_id=str(broadcast_id),
        channel=recipient.channel,
        recipient=recipient.key,
        recipient_name=recipient.name,
        address=recipient.address,
        audience=audience.key,
        subject=subject,
        body=data,
        options=options,
    )


# --- delivery and the report ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    """One recipient in a report."""

    name: str
    channel: str
    reason: str


@dataclass(frozen=True)
class BroadcastReport:
    """What became of a broadcast."""

    broadcast_id: int
    audience: str
    sent: int
    pending: int
    failed: list[ReportLine] = field(default_factory=list)
    unreachable: list[ReportLine] = field(default_factory=list)
    unsubscribed: list[ReportLine] = field(default_factory=list)
    cancelled: list[ReportLine] = field(default_factory=list)
    reach: str = ""
    # Kept in the outbox by delivery safety (bot.delivery.hold) until the operator releases it.
    held: list[ReportLine] = field(default_factory=list)


def broadcast_report(services: Services, broadcast_id: int) -> BroadcastReport:
    """The report, made from the database (so it can be asked for again at any time)."""
    with services.db.session() as session:
        record = session.get(BroadcastRecord, broadcast_id)
        if record is None:
            raise BroadcastRefused(f"no broadcast #{broadcast_id}")
        audience, skipped = record.audience, [Skip.from_json(s) for s in record.skipped or []]
    try:
        request, _status = load_request(services, broadcast_id)
        reach = request.reach_note()
    except BroadcastRefused:
        reach = ""
    sent = pending = 0
    failed: list[ReportLine] = []
    unreachable: list[ReportLine] = []
    unsubscribed: list[ReportLine] = []
    cancelled: list[ReportLine] = []
    held: list[ReportLine] = []
    for skip in skipped:
        target = unsubscribed if skip.kind == UNSUBSCRIBED else unreachable
        target.append(ReportLine(skip.name, skip.channel, skip.reason))
    for row in services.outbox.rows(source_of(broadcast_id)):
        line = ReportLine(row.recipient_name or row.recipient, row.channel, row.last_error or "")
        if row.status == "sent":
            sent += 1
        elif row.status in ("pending", "sending"):
            pending += 1
        elif row.status == "failed":
            (unreachable if row.unreachable else failed).append(line)
        elif row.status == "held":
            held.append(line)
        elif (row.last_error or "").startswith(UNSUBSCRIBED):
            unsubscribed.append(line)
        elif (row.last_error or "").startswith(UNREACHABLE):
            unreachable.append(line)
        else:
            cancelled.append(line)
    return BroadcastReport(
        broadcast_id,
        audience,
        sent,
        pending,
        failed,
        unreachable,
        unsubscribed,
        cancelled,
        reach,
        held,
    )


def format_report(report: BroadcastReport) -> str:
    """The report as text lines for a terminal or a chat."""
    lines = [
        f"Broadcast #{report.broadcast_id} to {report.audience}: {report.sent} sent, "
        f"{len(report.failed)} failed, {len(report.unreachable)} unreachable, "
        f"{len(report.unsubscribed)} unsubscribed, {report.pending} still queued"
    ]
    if report.reach:
        lines.append(f"  reached: {report.reach}")
    # One line per outcome, channel and reason, naming everyone it applies to.
    for title, items in (
        ("failed", report.failed),
        ("unreachable", report.unreachable),
        ("unsubscribed", report.unsubscribed),
        ("cancelled", report.cancelled),
        ("held", report.held),
    ):
        groups: dict[tuple[str, str], list[str]] = {}
        for item in items:
            reason = "" if title == "unsubscribed" else item.reason
            groups.setdefault((item.channel, reason), []).append(item.name)
        for (channel, reason), names in groups.items():
            why = f" ({reason})" if reason else ""
            lines.append(f"  {title} on {channel}{why}: {', '.join(names)}")
    if report.pending:
        lines.append(
            "  "
            + ngettext(
                "en",
                "{n} message will be retried by `coordbot run`.",
                "{n} messages will be retried by `coordbot run`.",
                report.pending,
            )
        )
    return "\n".join(lines)


async def _final(
    full: Callable[[], Awaitable[Progress]], on_progress: Callable[[Progress], None] | None
) -> Progress:
    progress = await full()
    if on_progress is not None:
        on_progress(progress)
    return progress


async def deliver_until_finished(
    workers: Sequence[ChannelWorker],
    outbox: Outbox,
    clock: Clock,
    source: Source,
    *,
    give_up_after: float,
    on_progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Run `workers` until every row of `source` on their channels is final, or until what is
    left cannot go out within `give_up_after` seconds; that stays queued for `coordbot run`.

    The bound holds on the clock (a retry due later than that is not waited for) and on the
    loop's own time, since a fixed clock (bot.now) never reaches a retry's time.
    """
    channels = tuple(worker.channel for worker in workers)
    stop = asyncio.Event()
    changed = outbox.progress_listener()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    deadline = clock.now() + timedelta(seconds=give_up_after)
    loop = asyncio.get_running_loop()
    real_deadline = loop.time() + give_up_after
    reported = -PROGRESS_REPORT_SECONDS

    async def full() -> Progress:
        return await asyncio.to_thread(outbox.progress, source, channels)

    try:
        while True:
            changed.clear()
            # Whether it is finished, from the index alone; the full counts (which read the
            # rows) for the progress line a few times a second, and for the caller at the end.
            unsent = await asyncio.to_thread(outbox.unsent, source, channels)
            if on_progress is not None and loop.time() - reported >= PROGRESS_REPORT_SECONDS:
                reported = loop.time()
                on_progress(await full())
            if unsent.finished or not tasks or loop.time() >= real_deadline:
                return await _final(full, on_progress)
            if not unsent.counts.get("sending"):
                due = unsent.next_due
                if due is None or due > deadline or clock.now() >= deadline:
                    return await _final(full, on_progress)
            for task in tasks:
                if task.done():
                    task.result()  # re-raise what stopped a worker
                    return await _final(full, on_progress)
            await wait_first(
                changed.wait(),
                asyncio.sleep(real_deadline - loop.time()),
                *[asyncio.shield(t) for t in tasks],
            )
            # Outcomes come one message at a time: look at the totals at most a few times a
            # second rather than after each (a progress query per message halves the rate).
            await asyncio.sleep(PROGRESS_INTERVAL)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
