"""One inbound message in, its effects committed once: the classifier and the ledger.

`Processor.handle` parses the message, decides what it is (a bounce, an answer to an invite,
an automatic or list message, an unsubscribe request, a question) and writes every effect
(attendance, holds, outbox rows for replies and coordinator notices, the subscription) in
one transaction with the message's ledger row. A message whose ledger row exists is a
duplicate and changes nothing, so handling a message again after a crash is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.i18n import gettext
from bot.inbound import bounces, imip, loopguard, questions
from bot.inbound.models import InboundMessage
from bot.inbound.notify import tell_coordinators
from bot.inbound.parse import Inbound, Unreadable, ledger_key, parse_message, question_text
from bot.services import Services
from bot.subscriptions import SubscriptionError, Subscriptions

log = logging.getLogger(__name__)

# Called with a stage name ("effects-written": inside the transaction, before the commit;
# "committed": after it); the fault tests kill the process there.
StageHook = Callable[[str], None]


@dataclass(frozen=True)
class Handled:
    """What was done with one message (`coordbot mail ingest --json` prints `to_json`)."""

    kind: str  # imip-reply | bounce | auto-reply | list | unsubscribe | question | unreadable
    action: str  # recorded | ignored | held | counted | replied | unsubscribed | needs-person | duplicate | rate-limited
    detail: str
    key: str
    message_id: str | None = None
    sender: str = ""
    reply_queued: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """One JSON object: at least kind and action."""
        return {
            "kind": self.kind,
            "action": self.action,
            "detail": self.detail,
            "message_id": self.message_id,
            "sender": self.sender,
            "reply_queued": self.reply_queued,
            "items": self.items,
        }

    @property
    def readable(self) -> bool:
        """False when a person has to look at the message."""
        return self.kind != "unreadable"


class Processor:
    """Handles inbound messages for one process (thread-safe: no state between messages)."""

    def __init__(self, services: Services, *, hook: StageHook | None = None) -> None:
        self.services = services
        self._hook = hook
        self._subscriptions = Subscriptions(services.db, services.clock, services.config)

    def signer(self) -> bounces.Signer:
        """The HMAC the return paths are signed with (the unsubscribe links' key)."""
        return self._subscriptions.sign

    def _stage(self, name: str) -> None:
        if self._hook is not None:
            self._hook(name)

    def handle(self, raw: bytes) -> Handled:
        """Handle one message; never raises for a bad message (it becomes `unreadable`)."""
        try:
            message = parse_message(raw)
        except Unreadable as exc:
            return self.unreadable(raw, str(exc), sender=exc.sender, subject=exc.subject)
        if message.message_id is None:
            return self.unreadable(raw, "no Message-ID header", message)
        with self.services.db.session() as session:
            if session.get(InboundMessage, message.key) is not None:
                return self._duplicate(session, message)
        try:
            return self._classify(message)
        except Unreadable as exc:
            return self.unreadable(raw, str(exc), message)
        except IntegrityError:
            # Another process recorded the same Message-ID meanwhile.
            with self.services.db.session() as session:
                return self._duplicate(session, message)

    def _duplicate(self, session: Session, message: Inbound) -> Handled:
        row = session.get(InboundMessage, message.key)
        detail = f"already handled as {row.kind} ({row.action})" if row else "already handled"
        return Handled(
            "duplicate", "duplicate", detail, message.key, message.message_id, message.sender
        )

    def _commit(
        self, session: Session, message: Inbound, result: Handled, *, replied: bool = False
    ) -> Handled:
        session.add(
            InboundMessage(
                key=message.key,
                message_id=message.message_id,
                sender=message.sender[:320],
                subject=message.subject[:300],
                kind=result.kind,
                action=result.action,
                detail=result.detail[:4000],
                replied=replied,
                handled_at=self.services.clock.now(),
            )
        )
        session.flush()
        self._stage("effects-written")
        return result

    def _write(
        self, message: Inbound, effects: Callable[[Session], tuple[Handled, bool]]
    ) -> Handled:
        with self.services.db.session() as session:
            result, replied = effects(session)
            self._commit(session, message, result, replied=replied)
        self._stage("committed")
        return result

    def _classify(self, message: Inbound) -> Handled:
        if bounces.is_bounce(message):
            return self._write(message, lambda s: (self._bounce(s, message), False))
        if imip.has_calendar(message):
            return self._write(
                message,
                lambda s: (self._invite_reply(s, message, imip.reply_items(message)), False),
            )
        if imip.subject_partstat(message.subject):
            with self.services.db.session() as session:
                item = imip.subject_reply(session, message)
            if item is not None:
                return self._write(
                    message, lambda s: (self._invite_reply(s, message, [item]), False)
                )
        own = questions.own_addresses(self.services.config)
        why = loopguard.why_no_answer(message, own)
        if why is not None:
            kind = "list" if ("List-Id" in why or "bulk" in why or "list" in why) else "auto-reply"
            return self._write(
                message,
                lambda s: (
                    Handled(kind, "ignored", why, message.key, message.message_id, message.sender),
                    False,
                ),
            )
        token = questions.unsubscribe_request(message)
        if token is not None:
            return self._write(message, lambda s: (self._unsubscribe(s, message, token), False))
        return self._question(message)

    # --- kinds ----------------------------------------------------------------------------

    def _bounce(self, session: Session, message: Inbound) -> Handled:
        now = self.services.clock.now()
        row_id = bounces.verp_row_id(message.raw, self.signer())
        failures = bounces.report_failures(message.message)
        if not failures:
            row = bounces.row_for(session, row_id, None)
            if row is None:
                return Handled(
                    "bounce",
                    "ignored",
                    "no failed recipient and no return path of ours",
                    message.key,
                    message.message_id,
                    message.sender,
                )
            failures = [bounces.text_failure(message.message, row.address.lower())]
        outcomes = []
        for failure in failures:
            row = bounces.row_for(session, row_id, failure.address)
            outcomes.append(bounces.apply_failure(session, failure, row, now))
        lang = self.services.config.bot.default_language
        for outcome in outcomes:
            if outcome.held:
                tell_coordinators(
                    self.services.outbox,
                    session,
                    self.services.config,
                    f"{message.key}|hold|{outcome.address}",
                    gettext(
                        lang,
                        "Mail to {address} bounced ({status}): {reason}. The address is on hold "
                        "until the registry has another one.",
                        address=outcome.address,
                        status=outcome.status,
                        reason=outcome.reason,
                    ),
                )
        held = [o for o in outcomes if o.held]
        return Handled(
            "bounce",
            "held" if held else "counted",
            "; ".join(f"{o.address}: {o.status} {o.reason}" for o in outcomes),
            message.key,
            message.message_id,
            message.sender,
            items=[
                {
                    "address": o.address,
                    "status": o.status,
                    "reason": o.reason,
                    "outbox_id": o.outbox_id,
                    "held": o.held,
                }
                for o in outcomes
            ],
        )

    def _invite_reply(
        self, session: Session, message: Inbound, items: list[imip.ReplyItem]
    ) -> Handled:
        now = self.services.clock.now()
        recorded = [
            imip.record_reply(session, item, message.sender, message.key, now) for item in items
        ]
        data = self.services.registry.snapshot()
        lang = self.services.config.bot.default_language
        for rec in recorded:
            event = data.event_by_key.get(rec.event_key)
            title = event.title(lang) if event else rec.event_key
            who = f"{rec.name} <{rec.attendee}>" if rec.name else rec.attendee
            text = None
            if rec.action == "recorded" and rec.partstat == "DECLINED":
                text = gettext(lang, "{who} declined {event}.", who=who, event=title)
            elif rec.action == "recorded" and rec.partstat == "DELEGATED":
                text = gettext(
                    lang,
                    "{who} delegated {event} to {delegate}; send them an invite.",
                    who=who,
                    event=title,
                    delegate=rec.delegated_to,
                )
            elif rec.action == "countered":
                text = gettext(
                    lang,
                    "{who} proposes another time for {event}: {when}.",
                    who=who,
                    event=title,
                    when=rec.proposed,
                )
            if text is not None:
                if rec.comment:
                    text += "\n" + gettext(lang, "Comment: {comment}", comment=rec.comment)
                tell_coordinators(
                    self.services.outbox,
                    session,
                    self.services.config,
                    f"{message.key}|{rec.event_key}|{rec.attendee}",
                    text,
                )
        action = (
            "recorded"
            if any(r.action in ("recorded", "countered") for r in recorded)
            else "ignored"
        )
        detail = (
            "; ".join(
                f"{r.attendee} {r.partstat} {r.event_key} ({r.action}{': ' + r.detail if r.detail else ''})"
                for r in recorded
            )
            or "no answer in the calendar part"
        )
        return Handled(
            "imip-reply",
            action,
            detail,
            message.key,
            message.message_id,
            message.sender,
            items=[
                {
                    "event": r.event_key,
                    "attendee": r.attendee,
                    "partstat": r.partstat,
                    "action": r.action,
                    "comment": r.comment,
                }
                for r in recorded
            ],
        )

    def _unsubscribe(self, session: Session, message: Inbound, token: str) -> Handled:
        now = self.services.clock.now()
        if token:
            try:
                target = self._subscriptions.read_token(token)
            except SubscriptionError:
                target = None
            if target is not None:
                questions.record_choice(session, target.subscriber, target.audience, now)
                return Handled(
                    "unsubscribe",
                    "unsubscribed",
                    f"{target.subscriber} from {target.audience}",
                    message.key,
                    message.message_id,
                    message.sender,
                )
        keys = questions.unsubscribe_everything(
            session, self.services.registry.snapshot(), message.sender, now
        )
        if not keys:
            return Handled(
                "unsubscribe",
                "ignored",
                "no registry person has this address",
                message.key,
                message.message_id,
                message.sender,
            )
        return Handled(
            "unsubscribe",
            "unsubscribed",
            f"{', '.join(keys)} from every audience",
            message.key,
            message.message_id,
            message.sender,
        )

    def _question(self, message: Inbound) -> Handled:
        config = self.services.config
        data = self.services.registry.snapshot()

        def ignored(reason: str) -> Handled:
            """Record the question as ignored, with the reason."""
            return self._write(
                message,
                lambda s: (
                    Handled(
                        "question",
                        "ignored",
                        reason,
                        message.key,
                        message.message_id,
                        message.sender,
                    ),
                    False,
                ),
            )

        if not questions.sender_allowed(config, data, message.sender):
            return ignored("sender not allowed (bot.directory_access = known)")
        text = question_text(message.message, message.subject)[:1000]
        if not text.strip():
            return ignored("no question in the message")
        answer = self.services.answers.ask(text)

        def effects(session: Session) -> tuple[Handled, bool]:
            """Queue the reply unless the sender had their answers for this hour."""
            now = self.services.clock.now()
            if (
                loopguard.replies_in_last_hour(session, message.sender, now)
                >= loopguard.REPLIES_PER_HOUR
            ):
                return Handled(
                    "question",
                    "rate-limited",
                    f"{loopguard.REPLIES_PER_HOUR} replies to this sender in the last hour",
                    message.key,
                    message.message_id,
                    message.sender,
                ), False
            reply = questions.build_reply(config, message, questions.answer_text(answer), now)
            if reply is None:
                return Handled(
                    "question",
                    "ignored",
                    "the sender's address cannot take a reply",
                    message.key,
                    message.message_id,
                    message.sender,
                ), False
            to = questions.message_recipient(reply)
            self.services.outbox.enqueue([questions.reply_row(message, reply, to)], session=session)
            return Handled(
                "question",
                "replied",
                f"{answer.status} in {answer.lang}: {text[:200]}",
                message.key,
                message.message_id,
                message.sender,
                reply_queued=True,
                items=[{"question": text, "status": answer.status, "lang": answer.lang}],
            ), True

        return self._write(message, effects)

    # --- unreadable ------------------------------------------------------------------------

    def unreadable(
        self,
        raw: bytes,
        reason: str,
        message: Inbound | None = None,
        *,
        sender: str = "",
        subject: str = "",
    ) -> Handled:
        """Record an unreadable message once and tell the coordinators (a person must look)."""
        key = ledger_key(raw, None)
        sender = message.sender if message else sender
        subject = message.subject if message else subject
        lang = self.services.config.bot.default_language
        result = Handled(
            "unreadable",
            "needs-person",
            reason,
            key,
            message.message_id if message else None,
            sender,
        )
        try:
            with self.services.db.session() as session:
                if session.get(InboundMessage, key) is not None:
                    return result
                tell_coordinators(
                    self.services.outbox,
                    session,
                    self.services.config,
                    key,
                    gettext(
                        lang,
                        "A message coordbot cannot read needs a person: {reason}. From: {sender}; "
                        "subject: {subject}.",
                        reason=reason,
                        sender=sender or "?",
                        subject=subject or "?",
                    ),
                )
                session.add(
                    InboundMessage(
                        key=key,
                        message_id=None,
                        sender=sender[:320],
                        subject=subject[:300],
                        kind="unreadable",
                        action="needs-person",
                        detail=reason[:4000],
                        replied=False,
                        handled_at=self.services.clock.now(),
                    )
                )
        except IntegrityError:
            pass
        return result
