"""The chat logic every transport shares: who is asking, what they may do, and the reply.

A transport (Telegram, the console) turns what it received into a `Sender` and text, calls one
method here and renders the `Reply`. Nothing here knows which transport is talking.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from bot import access
from bot.chat import admin, attendance, contacts, delivery, directory, edits
from bot.chat.choices import ChoiceStore
from bot.chat.commands import COMMAND_BY_NAME, COMMANDS, CommandSpec, parse_command
from bot.chat.reply import Line, Reply, Span, bold, plain, text_reply
from bot.i18n import N_, Lang, gettext, language_from_tag, ngettext, parse_language, reply_language
from bot.ratelimit import RateLimiter
from bot.services import Services

log = logging.getLogger(__name__)

# Longer than any real question; longer text is refused before it reaches the engine.
MAX_QUESTION_CHARS = 1000

Notice = Literal["non_text", "edited", "error", "button_expired"]
_NOTICES: dict[Notice, str] = {
    "non_text": N_("I can only read text. Ask me a question, e.g. “{example}”."),
    "edited": N_("I answer new messages only; please send your changed question as a new message."),
    "error": N_("Sorry, something went wrong on my side. Please try again in a moment."),
    "button_expired": N_("This button has expired. Please ask again."),
}


@dataclass(frozen=True)
class Sender:
    """Who sent a message, as the transport saw them."""

    user_id: int | None
    chat_id: int | None
    display_name: str
    username: str | None = None
    language_code: str | None = None
    private: bool = True
    console: bool = False

    @property
    def key(self) -> str:
        """A stable key for per-user state (rate limits, console session)."""
        return "console" if self.console else f"telegram:{self.user_id}"


@dataclass(frozen=True)
class Context:
    """A sender resolved against the database: their record, language and role."""

    sender: Sender
    user: access.ChatUserView | None
    lang: Lang
    chosen_lang: Lang | None
    coordinator: bool


class ChatService:
    """Commands, questions and button presses -> Replies, for any transport."""

    def __init__(
        self,
        services: Services,
        *,
        limiter: RateLimiter | None = None,
        choices: ChoiceStore | None = None,
        seen: access.LastSeen | None = None,
    ) -> None:
        self.services = services
        # Chat users as they write; "last seen" is written once a minute, not per message.
        self.seen = seen or access.LastSeen(services.db)
        self.limiter = limiter or RateLimiter(
            services.config.telegram.questions_per_minute, services.clock
        )
        self.choices = choices or ChoiceStore()
        # Language chosen with /lang by senders without a database record (the console).
        self._session_langs: dict[str, Lang] = {}
        self._handlers: dict[str, Callable[[Context, str], Reply]] = {
            "start": self._start,
            "help": self._help,
            "lang": self._lang,
            "who": self._who,
            "when": self._when,
            "next": self._next,
            "events": self._events,
            "calendar": self._calendar,
            "users": lambda ctx, args: admin.users(self.services, ctx.lang),
            "approve": lambda ctx, args: admin.approve(self.services, ctx, args, approved=True),
            "revoke": lambda ctx, args: admin.approve(self.services, ctx, args, approved=False),
            "link": lambda ctx, args: admin.link(self.services, ctx, args),
            "unlink": lambda ctx, args: admin.unlink(self.services, ctx, args),
            "event": lambda ctx, args: edits.event_command(self.services, ctx, args, self.choices),
            "email": lambda ctx, args: edits.email_command(self.services, ctx, args, self.choices),
            "contact": lambda ctx, args: contacts.contact_command(
                self.services, ctx, args, self.choices
            ),
            "person": lambda ctx, args: contacts.person_command(
                self.services, ctx, args, self.choices
            ),
            "attendance": lambda ctx, args: attendance.attendance_command(
                self.services, ctx.lang, args
            ),
        }
        for name in ("subscribe", "unsubscribe", "subscriptions", "done", "broadcast"):
            self._handlers[name] = partial(delivery.delivery_command, self.services, name)
        missing = {spec.name for spec in COMMANDS} - set(self._handlers)
        assert not missing, f"commands without a handler: {missing}"

    # --- entry points for transports ------------------------------------------------------

    def message(self, sender: Sender, text: str) -> Reply:
        """Any typed text: a command if it starts with one, a question otherwise."""
        return self.limit(sender) or self._message(sender, text)

    def _message(self, sender: Sender, text: str) -> Reply:
        parsed = parse_command(text)
        if parsed is not None:
            return self._command(sender, parsed.name, parsed.args)
        return self._question(sender, text)

    def limit(self, sender: Sender) -> Reply | None:
        """None when the sender may be answered now, else the reply that says how long to
        wait (every time: silence looks like a hang). Counts one message. Every command,
        question and button press passes here; the console (the operator) never waits.
        Touches no database, so a flood costs no writes."""
        if sender.console:
            return None
        decision = self.limiter.check(sender.key)
        if decision.allowed:
            return None
        lang = self.language_of(sender)
        if decision.notify:
            log.info("rate limit hit by %s", sender.key)
        pace = ngettext(
            lang,
            "You are asking faster than I answer ({n} question a minute).",
            "You are asking faster than I answer ({n} questions a minute).",
            self.limiter.limit,
        )
        wait = ngettext(
            lang,
            "Please wait {n} second and ask again.",
            "Please wait {n} seconds and ask again.",
            decision.retry_after_seconds,
        )
        return text_reply(lang, plain(f"{pace} {wait}"), kind="rate_limited")

    def command(self, sender: Sender, name: str, args: str) -> Reply:
        """One command with its argument text."""
        return self.limit(sender) or self._command(sender, name, args)

    def _command(self, sender: Sender, name: str, args: str) -> Reply:
        ctx = self.context(sender)
        spec = COMMAND_BY_NAME.get(name.lower())
        if spec is None:
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang,
                        "I do not know the command /{command}. /help lists what I can do.",
                        command=name[:40],
                    )
                ),
                kind="unknown",
            )
        if spec.coordinator_only and not ctx.coordinator:
            log.info("refused /%s from user %s (not a coordinator)", name, sender.user_id)
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang,
                        "/{command} is for coordinators only. Nothing was changed.",
                        command=name,
                    )
                ),
                kind="refused",
            )
        if len(args) > MAX_QUESTION_CHARS:
            return _too_long(ctx.lang, len(args))
        if spec.group == "directory":
            refusal = self._gate(ctx)
            if refusal is not None:
                return refusal
        return self._handlers[spec.name](ctx, args.strip())

    def question(self, sender: Sender, text: str) -> Reply:
        """A free-text question to the directory."""
        return self.limit(sender) or self._question(sender, text)

    def _question(self, sender: Sender, text: str) -> Reply:
        ctx = self.context(sender)
        text = text.strip()
        if not text:
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang,
                        "Ask me a question, e.g. “{example}”. /help lists the commands.",
                        example=gettext(ctx.lang, "who is Bodø's data contact?"),
                    )
                ),
                kind="usage",
            )
        if len(text) > MAX_QUESTION_CHARS:
            return _too_long(ctx.lang, len(text))
        refusal = self._gate(ctx)
        if refusal is not None:
            return refusal
        return self._ask(ctx, text)

    def choose(self, sender: Sender, choice_id: str) -> Reply:
        """A press of an offered choice: asks the text behind it, or runs it when it is a
        command (an edit with the event or person picked), with the presser's rights."""
        refusal = self.limit(sender)
        if refusal is not None:
            return refusal
        text = self.choices.get(choice_id)
        if text is None:
            return self.notice(sender, "button_expired")
        return self._message(sender, text)

    def notice(self, sender: Sender, kind: Notice) -> Reply:
        """A fixed message (non-text input, edits, expired buttons, errors).

        Touches no database, so the error handler can use it when the database is the problem.
        """
        lang = self.language_of(sender)
        example = gettext(lang, "who is Bodø's data contact?")
        return text_reply(lang, plain(gettext(lang, _NOTICES[kind], example=example)), kind=kind)

    def too_long(self, sender: Sender, length: int) -> Reply:
        """The refusal of a message of `length` characters, for a transport that cut it short."""
        return _too_long(self.context(sender).lang, length)

    def language_of(self, sender: Sender) -> Lang:
        """The sender's UI language without a database lookup (/lang on the console, else the
        transport's language tag, else the configured default)."""
        return self._session_langs.get(sender.key) or language_from_tag(
            sender.language_code, self._default_lang
        )

    def flush(self) -> int:
        """Write the last-seen times still waiting in memory (at stop); how many."""
        return self.seen.flush()

    def menu(self, lang: Lang, *, coordinator: bool = False) -> list[tuple[str, str]]:
        """(command, description) pairs for a command menu in `lang`."""
        return [
            (spec.name, gettext(lang, spec.description))
            for spec in COMMANDS
            if coordinator or not spec.coordinator_only
        ]

    # --- who is asking ----------------------------------------------------------------------

    @property
    def _default_lang(self) -> Lang:
        return reply_language(self.services.config.bot.default_language)

    def context(self, sender: Sender) -> Context:
        """Resolve the sender: record them (Telegram users), their language and role."""
        user = None
        chosen: Lang | None = self._session_langs.get(sender.key)
        if sender.user_id is not None and not sender.console:
            user = self.seen.record(
                telegram_user_id=sender.user_id,
                display_name=sender.display_name,
                username=sender.username,
                private_chat_id=sender.chat_id if sender.private else None,
                now=self.services.clock.now(),
            )
            chosen = parse_language(user.language) if user.language else None
        lang = chosen or language_from_tag(sender.language_code, self._default_lang)
        # The console is the operator of this machine, who can edit the database anyway.
        coordinator = sender.console or access.is_coordinator(self.services.config, sender.user_id)
        return Context(sender, user, lang, chosen, coordinator)

    def _gate(self, ctx: Context) -> Reply | None:
        """A refusal when the directory may not answer this user, else None."""
        if not access.may_use_directory(
            self.services.config, ctx.user, coordinator=ctx.coordinator
        ):
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang,
                        "The directory answers known users only. Ask a coordinator to approve you; your user id is {user_id}.",
                        user_id=ctx.sender.user_id,
                    )
                ),
                kind="not_known",
            )
        return None

    # --- account commands -------------------------------------------------------------------

    def _start(self, ctx: Context, args: str) -> Reply:
        name = ctx.sender.display_name or "!"
        lines: list[Line] = [
            plain(
                gettext(
                    ctx.lang,
                    "Hello {name}! I am coordbot, the assistant of Bærekraftsløftet, U4SSC's implementation programme in Norway.",
                    name=name,
                )
            ),
            plain(""),
        ]
        lines += self._help_lines(ctx)
        if not access.may_use_directory(
            self.services.config, ctx.user, coordinator=ctx.coordinator
        ):
            lines += [
                plain(""),
                plain(
                    gettext(
                        ctx.lang,
                        "The directory answers known users only. Ask a coordinator to approve you; your user id is {user_id}.",
                        user_id=ctx.sender.user_id,
                    )
                ),
            ]
        return text_reply(ctx.lang, *lines, kind="start")

    def _help(self, ctx: Context, args: str) -> Reply:
        return text_reply(ctx.lang, *self._help_lines(ctx), kind="help")

    def _help_lines(self, ctx: Context) -> list[Line]:
        lang = ctx.lang
        lines: list[Line] = [
            plain(
                gettext(
                    lang,
                    "Ask me who to contact and what happens when, in English, bokmål or nynorsk, for example:",
                )
            )
        ]
        lines += [
            plain("  • " + gettext(lang, "who is Bodø's data contact?")),
            plain("  • " + gettext(lang, "when is the steering group meeting?")),
        ]
        lines += [plain(""), bold(gettext(lang, "Commands:"))]
        lines += [_command_line(spec, lang) for spec in COMMANDS if not spec.coordinator_only]
        if ctx.coordinator:
            lines += [plain(""), bold(gettext(lang, "Coordinator commands:"))]
            lines += [_command_line(spec, lang) for spec in COMMANDS if spec.coordinator_only]
        if not ctx.sender.private:
            lines += [
                plain(""),
                plain(
                    gettext(lang, "In groups, use the commands or mention me with your question.")
                ),
            ]
        return lines

    def _lang(self, ctx: Context, args: str) -> Reply:
        chosen = parse_language(args) if args else None
        if chosen is None:
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang,
                        "Choose the reply language: /lang en, /lang nb (bokmål) or /lang nn (nynorsk). Now: {lang}.",
                        lang=ctx.lang,
                    )
                ),
                kind="usage",
            )
        if ctx.user is not None:
            access.set_language(self.services.db, ctx.user.telegram_user_id, chosen)
        else:
            self._session_langs[ctx.sender.key] = chosen
        return text_reply(chosen, plain(gettext(chosen, "I will reply in English.")), kind="lang")

    # --- directory commands ---------------------------------------------------------------

    def _ask(self, ctx: Context, question: str) -> Reply:
        answer = self.services.answers.ask(question, lang=ctx.chosen_lang)
        return directory.answer_reply(answer, self.choices)

    def _who(self, ctx: Context, args: str) -> Reply:
        if not args:
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang, "Tell me who you are looking for, e.g. /who data contact Bodø"
                    )
                ),
                kind="usage",
            )
        return self._ask(ctx, directory.with_prefix(args, "who", ctx.lang))

    def _when(self, ctx: Context, args: str) -> Reply:
        if not args:
            return text_reply(
                ctx.lang,
                plain(
                    gettext(
                        ctx.lang,
                        "Tell me what you want the date of, e.g. /when steering group meeting",
                    )
                ),
                kind="usage",
            )
        return self._ask(ctx, directory.with_prefix(args, "when", ctx.lang))

    def _next(self, ctx: Context, args: str) -> Reply:
        return self._ask(ctx, directory.next_question(ctx.lang))

    def _events(self, ctx: Context, args: str) -> Reply:
        if args.lower() == "keys":
            return edits.event_keys_reply(self.services, ctx.lang)
        return directory.events_reply(self.services, ctx.lang, everything=args.lower() == "all")

    def _calendar(self, ctx: Context, args: str) -> Reply:
        person_key = ctx.user.person_key if ctx.user else None
        return directory.calendar_reply(
            self.services,
            ctx.lang,
            attach=not ctx.sender.console,
            person_key=person_key,
            private_token=self._feed_token(ctx),
            user_id=ctx.sender.user_id,
        )

    def _feed_token(self, ctx: Context) -> str | None:
        """The token for private feed links: the user's own when they are approved, linked
        or a coordinator; the configured one for the operator on the console; else None."""
        if self.services.config.calendar.public_feeds:
            return None
        if ctx.sender.console:
            return self.services.config.calendar.feed_token or None
        known = ctx.user is not None and (ctx.user.approved or ctx.user.person_key is not None)
        if ctx.sender.user_id is None or not (known or ctx.coordinator):
            return None
        return access.personal_feed_token(
            self.services.db, ctx.sender.user_id, self.services.clock.now()
        )


class LastSeenFlush:
    """A bot.lifecycle.Component that writes the chat's waiting last-seen times at stop. Listed
    before the chat transport, it stops after it: after the last message was handled."""

    name = "chat last-seen times"

    def __init__(self, chat: ChatService) -> None:
        self._chat = chat

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Write what is waiting (off the event loop: it is a database write)."""
        written = await asyncio.to_thread(self._chat.flush)
        if written:
            log.info("wrote the last-seen time of %d chat users", written)


def _too_long(lang: Lang, length: int) -> Reply:
    message = gettext(
        lang,
        "That message is {length} characters long; please keep a question under {limit}.",
        length=length,
        limit=MAX_QUESTION_CHARS,
    )
    return text_reply(lang, plain(message), kind="too_long")


def _command_line(spec: CommandSpec, lang: Lang) -> Line:
    usage = f"/{spec.name} {spec.args}".rstrip()
    return (Span(usage, "code"), Span(" - " + gettext(lang, spec.description)))
