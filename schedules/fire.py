"""Firing reminders: what is due now becomes outbox rows (idempotent), nothing is sent here.

A reminder's rows carry the source id event|rule|time, so firing again (after a restart, or
when the scheduler and the catch-up both fire) adds nothing; a reminder fired more than
`late_after_minutes` after its time is marked late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.delivery.models import EMAIL, PENDING, TELEGRAM, OutboxMessage
from bot.delivery.outbox import NewMessage
from bot.delivery.recipients import Reach, Recipient, resolve
from bot.delivery.render import email_message, telegram_html
from bot.i18n import format_list, gettext, reply_language
from bot.mail import HeaderValueError
from bot.registry.data import RegistryData
from bot.registry.events import format_event_line
from bot.registry.marks import done_marks
from bot.registry.quality import email_defects
from bot.services import Services
from bot.subscriptions import Subscriptions
from schedules.plan import SOURCE_KIND, PlannedReminder, due_now, plan_reminders
from schedules.rules import ReminderRules, rules_from_config

DONE_CALLBACK = "rdone:"
_CALLBACK_LIMIT = 64


def current_rules(services: Services) -> ReminderRules:
    """The rules from the configuration."""
    return rules_from_config(services.config.reminders)


def current_plan(services: Services, now: datetime) -> list[PlannedReminder]:
    """The plan for the registry as it is now."""
    return plan_reminders(
        services.registry.snapshot(), current_rules(services), now, done_marks(services.db)
    )


@dataclass(frozen=True)
class FiredReminder:
    """A reminder that was due: who it reached, and how many new outbox rows it made."""

    reminder: PlannedReminder
    reach: Reach
    messages: list[NewMessage]
    added: int
    late: bool


def reach_of(services: Services, reminder: PlannedReminder, rules: ReminderRules) -> Reach:
    """Who a reminder reaches on the configured channels, and who not."""
    people = list({t.person.key: t.person for t in reminder.targets}.values())
    return resolve(
        services.db,
        Subscriptions(
            services.db, services.clock, services.config, served_at=services.calendar_base_url
        ),
        people,
        rules.channels,
        audience=reminder.audience,
        default_lang=services.config.bot.default_language,
        include_chat_subscribers=False,
        defects=email_defects(services.registry.snapshot()),
    )


def _places_of(reminder: PlannedReminder, recipient: Recipient, data: RegistryData) -> list[str]:
    keys = [t.municipality for t in reminder.targets if t.person.key == recipient.key]
    return [data.municipality_by_key[k].key for k in keys if k and k in data.municipality_by_key]


def render(
    services: Services,
    reminder: PlannedReminder,
    recipient: Recipient,
    *,
    late: bool,
    subscriptions: Subscriptions,
) -> NewMessage:
    """The outbox row of one reminder for one recipient on one channel, in the recipient's
    language. An e-mail deadline reminder carries one signed "we have delivered" link per
    municipality (bot.subscriptions), where Telegram has a button."""
    data = services.registry.snapshot()
    lang = reply_language(recipient.lang)
    zone = services.zone
    event = reminder.event
    place_keys = _places_of(reminder, recipient, data)
    place_names = format_list([data.municipality_by_key[k].name for k in place_keys], lang)
    lines = [format_event_line(event, data, lang)]
    if place_names:
        lines.append(gettext(lang, "Not yet reported done: {places}", places=place_names))
    if late:
        due = reminder.due.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        lines.append(gettext(lang, "Late: this reminder was due {due}.", due=due))
    reminder_word = gettext(lang, "Reminder")
    heading = f"⏰ {reminder_word} ({reminder.lead.label(lang)})"
    options: dict[str, Any] = {}
    if recipient.channel == TELEGRAM:
        body = telegram_html(heading, lines).encode("utf-8")
        options["parse_mode"] = "HTML"
        buttons = []
        for key in place_keys:
            callback = f"{DONE_CALLBACK}{event.key}:{key}"
            if len(callback.encode()) <= _CALLBACK_LIMIT:  # Telegram's limit for callback data
                label = gettext(lang, "✅ {place}: done", place=data.municipality_by_key[key].name)
                buttons.append([{"text": label, "callback_data": callback}])
        if buttons:
            options["reply_markup"] = {"inline_keyboard": buttons}
    else:
        audience = data.audience_by_key.get(reminder.audience or "")
        text_lines = [heading, "", *lines]
        if event.kind == "deadline":
            for key in place_keys:
                done_url = subscriptions.done_url(event.key, key, recipient.key, lang)
                place = data.municipality_by_key[key].name
                text_lines += [
                    "",
                    gettext(
                        lang,
                        "When {place} has delivered, confirm it with this link: {url}",
                        place=place,
                        url=done_url,
                    ),
                ]
        url: str | None = None
        if audience is not None:
            url = subscriptions.unsubscribe_url(recipient.key, audience.key, EMAIL, lang)
            footer = gettext(
                lang,
                "You get this reminder as a member of {audience}.",
                audience=audience.name(lang),
            )
            text_lines += ["", "-- ", footer, gettext(lang, "Unsubscribe: {url}", url=url)]
        when = event.start_date.isoformat()
        body = email_message(
            services.config.email,
            to_name=recipient.name,
            to_address=recipient.address,
            subject=gettext(lang, "Reminder: {title} ({when})", title=event.title(lang), when=when),
            text="\n".join(text_lines) + "\n",
            now=services.clock.now(),
            unsubscribe_url=url,
        )
    return NewMessage(
        source_kind=SOURCE_KIND,
        source_id=reminder.source_id,
        channel=recipient.channel,
        recipient=recipient.key,
        recipient_name=recipient.name,
        address=recipient.address,
        audience=reminder.audience,
        subject=event.title(lang),
        body=body,
        options=options,
        late=late,
    )


def enqueue_due_reminders(services: Services, now: datetime | None = None) -> list[FiredReminder]:
    """Write the rows of every reminder due at `now` (see plan.due_now) to the outbox and
    wake the workers; rows that exist already are left alone. Returns what was due."""
    now = now or services.clock.now()
    rules = current_rules(services)
    plan = plan_reminders(services.registry.snapshot(), rules, now, done_marks(services.db))
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )
    fired: list[FiredReminder] = []
    for reminder in due_now(plan, now):
        late = now - reminder.due > rules.late_after
        reach = reach_of(services, reminder, rules)
        messages = []
        for recipient in reach.recipients:
            try:
                messages.append(
                    render(services, reminder, recipient, late=late, subscriptions=subscriptions)
                )
            except HeaderValueError:
                continue  # a registry name with a line break: `registry check` reports it
        added = services.outbox.enqueue(messages)
        fired.append(FiredReminder(reminder, reach, messages, added, late))
    return fired


def cancel_stale_reminders(services: Services, plan: list[PlannedReminder]) -> int:
    """Cancel pending reminder rows that are no longer in the plan (the event moved, was
    cancelled, or the reminder stopped being useful)."""
    wanted = {r.source_id for r in plan}
    with services.db.session() as session:
        pending = set(
            session.scalars(
                select(OutboxMessage.source_id).where(
                    OutboxMessage.source_kind == SOURCE_KIND, OutboxMessage.status == PENDING
                )
            )
        )
    stale = pending - wanted
    return services.outbox.cancel_pending(SOURCE_KIND, stale, "the event moved or was cancelled")
