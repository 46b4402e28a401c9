"""Subscriptions per (subscriber, audience, channel), and one-click unsubscribe (RFC 8058).

Members of an audience receive its messages unless they unsubscribed (a row with
subscribed=False, for that audience or for "*", every audience). Chat users who are not in the
registry can subscribe to an audience on Telegram (a row with subscribed=True; their
subscriber key is "chat:<telegram user id>"). Registry people are subscribers under their
person key.

Every broadcast e-mail carries `List-Unsubscribe: <URL>` and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click`; the URL holds an HMAC-signed token naming subscriber, audience
and channel. POST to it unsubscribes at once (mail clients do that); GET shows a page with a
button, because link scanners fetch URLs and must not unsubscribe anyone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import Boolean, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import Clock
from bot.config import Config
from bot.db import Base, Database, UTCDateTime
from bot.i18n import N_, gettext
from bot.registry.data import AudienceRec, RegistryData
from bot.registry.tables import MetaEntry
from bot.textnorm import fold

if TYPE_CHECKING:
    from aiohttp import web

ALL_AUDIENCES = "*"
CHANNELS = ("telegram", "email")
_SECRET_META_KEY = "unsubscribe_secret"


class Subscription(Base):
    """An explicit choice: `subscriber` does (not) want `audience` messages on `channel`."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("subscriber", "audience", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(200), index=True)
    audience: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    subscribed: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    via: Mapped[str] = mapped_column(String(32))


class SubscriptionError(ValueError):
    """A subscription request or unsubscribe token that cannot be used."""


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What a verified unsubscribe token names."""

    subscriber: str
    audience: str
    channel: str


def chat_subscriber(telegram_user_id: int) -> str:
    """The subscriber key of a chat user who is not linked to a registry person."""
    return f"chat:{telegram_user_id}"


def find_audience(data: RegistryData, name: str) -> AudienceRec | None:
    """An audience by key, name or alias (folded: case, æøå spellings and punctuation)."""
    wanted = fold(name)
    if not wanted:
        return None
    for audience in data.audiences:
        names = (audience.key, audience.name_en, audience.name_nb, *audience.aliases)
        if any(fold(n) == wanted for n in names):
            return audience
    return None


class Subscriptions:
    """Reads and records subscription choices; signs and checks unsubscribe tokens."""

    def __init__(
        self, db: Database, clock: Clock, config: Config, *, served_at: str | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._config = config
        # Where the running calendar web server is (Services.calendar_base_url), used when
        # calendar.public_base_url is not set.
        self._served_at = served_at
        self._secret: bytes | None = None

    def record(
        self, subscriber: str, audience: str, channel: str, subscribed: bool, via: str
    ) -> None:
        """Record a choice (replacing an earlier one for the same audience and channel)."""
        if channel not in CHANNELS:
            raise SubscriptionError(f"unknown channel {channel!r}")
        now = self._clock.now()
        with self._db.session() as session:
            row = session.scalar(
                select(Subscription).where(
                    Subscription.subscriber == subscriber,
                    Subscription.audience == audience,
                    Subscription.channel == channel,
                )
            )
            if row is None:
                session.add(
                    Subscription(
                        subscriber=subscriber,
                        audience=audience,
                        channel=channel,
                        subscribed=subscribed,
                        changed_at=now,
                        via=via,
                    )
                )
            else:
                row.subscribed, row.changed_at, row.via = subscribed, now, via

    def opted_out(self, audience: str, channel: str) -> set[str]:
        """Subscribers who unsubscribed from `audience` (or from everything) on `channel`."""
        with self._db.session() as session:
            return set(
                session.scalars(
                    select(Subscription.subscriber).where(
                        Subscription.audience.in_([audience, ALL_AUDIENCES]),
                        Subscription.channel == channel,
                        Subscription.subscribed.is_(False),
                    )
                )
            )

    def opted_in(self, audience: str, channel: str) -> set[str]:
        """Subscribers who asked for `audience` on `channel` (members or not)."""
        with self._db.session() as session:
            return set(
                session.scalars(
                    select(Subscription.subscriber).where(
                        Subscription.audience == audience,
                        Subscription.channel == channel,
                        Subscription.subscribed.is_(True),
                    )
                )
            )

    def unsubscribed_among(
        self, wanted: Iterable[tuple[str, str, str]]
    ) -> set[tuple[str, str, str]]:
        """Which (subscriber, audience, channel) triples are unsubscribed now."""
        triples = set(wanted)
        if not triples:
            return set()
        subscribers = {s for s, _a, _c in triples}
        with self._db.session() as session:
            rows = session.execute(
                select(Subscription.subscriber, Subscription.audience, Subscription.channel).where(
                    Subscription.subscriber.in_(subscribers), Subscription.subscribed.is_(False)
                )
            ).all()
        out = {(s, a, c) for s, a, c in rows}
        everything = {(s, c) for s, a, c in rows if a == ALL_AUDIENCES}
        return {t for t in triples if t in out or (t[0], t[2]) in everything}

    def choices_of(self, subscriber: str) -> list[tuple[str, str, bool]]:
        """A subscriber's explicit choices: (audience, channel, subscribed)."""
        with self._db.session() as session:
            return [
                (row.audience, row.channel, row.subscribed)
                for row in session.scalars(
                    select(Subscription)
                    .where(Subscription.subscriber == subscriber)
                    .order_by(Subscription.audience, Subscription.channel)
                )
            ]

    # --- one-click unsubscribe -----------------------------------------------------------

    def _key(self) -> bytes:
        if self._secret is None:
            configured = self._config.delivery.unsubscribe_secret
            self._secret = configured.encode() if configured else self._stored_secret()
        return self._secret

    def _stored_secret(self) -> bytes:
        with self._db.session() as session:
            entry = session.get(MetaEntry, _SECRET_META_KEY)
            if entry is None:
                entry = MetaEntry(key=_SECRET_META_KEY, value=secrets.token_urlsafe(32))
                session.add(entry)
            return entry.value.encode()

    def token(self, subscriber: str, audience: str, channel: str = "email") -> str:
        """A signed token naming (subscriber, audience, channel)."""
        payload = json.dumps([subscriber, audience, channel], separators=(",", ":")).encode()
        mac = hmac.new(self._key(), payload, hashlib.sha256).digest()[:16]
        return f"{_b64(payload)}.{_b64(mac)}"

    def read_token(self, token: str) -> UnsubscribeTarget:
        """Check a token's signature and return what it names; SubscriptionError if invalid."""
        try:
            payload_text, mac_text = token.split(".", 1)
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except (ValueError, TypeError):
            raise SubscriptionError("malformed unsubscribe token") from None
        expected = hmac.new(self._key(), payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            raise SubscriptionError("unsubscribe token with a wrong signature")
        try:
            subscriber, audience, channel = json.loads(payload)
        except (ValueError, TypeError):
            raise SubscriptionError("malformed unsubscribe token") from None
        return UnsubscribeTarget(str(subscriber), str(audience), str(channel))

    def unsubscribe_url(self, subscriber: str, audience: str, channel: str = "email") -> str:
        """The one-click URL (on the calendar web server) for List-Unsubscribe."""
        from bot.calendar.feeds import base_url_for

        base = (None if self._config.calendar.public_base_url else self._served_at) or base_url_for(
            self._config.calendar
        )
        return f"{base}/unsubscribe?token={quote(self.token(subscriber, audience, channel))}"

    def unsubscribe_with(self, token: str) -> UnsubscribeTarget:
        """Honour an unsubscribe token (idempotent)."""
        target = self.read_token(token)
        self.record(target.subscriber, target.audience, target.channel, False, "one-click")
        return target


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- HTTP: /unsubscribe on the calendar web server -------------------------------------------


def add_unsubscribe_routes(app: web.Application, subscriptions: Subscriptions) -> None:
    """GET /unsubscribe shows a confirmation button; POST /unsubscribe unsubscribes (RFC 8058
    one-click: the body is `List-Unsubscribe=One-Click`)."""

    async def confirm_page(request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        try:
            # The signing key is in the database: off the event loop.
            target = await asyncio.to_thread(subscriptions.read_token, token)
        except SubscriptionError as exc:
            return _page(400, _both(N_("Invalid link"), " / "), html.escape(str(exc)))
        button = html.escape(_both(N_("Unsubscribe"), " / "))
        form = (
            f'<form method="post" action="/unsubscribe?token={html.escape(quote(token))}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{button}</button></form>'
        )
        audience = f"<b>{html.escape(target.audience)}</b>"
        # The page cannot know the reader's language: English, then bokmål.
        text = "<br>".join(
            gettext(lang, "Stop e-mails to the audience {audience}?", audience=audience)
            for lang in _PAGE_LANGUAGES
        )
        return _page(200, _both(N_("Unsubscribe"), " / "), text, form)

    async def unsubscribe(request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        try:
            target = await asyncio.to_thread(subscriptions.unsubscribe_with, token)
        except SubscriptionError as exc:
            return _page(400, _both(N_("Invalid link"), " / "), html.escape(str(exc)))
        audience = f"<b>{html.escape(target.audience)}</b>"
        text = "<br>".join(
            gettext(lang, "You will get no more e-mail to {audience}.", audience=audience)
            for lang in _PAGE_LANGUAGES
        )
        return _page(200, _both(N_("Unsubscribed"), " / "), text)

    app.router.add_get("/unsubscribe", confirm_page)
    app.router.add_post("/unsubscribe", unsubscribe)


_PAGE_LANGUAGES = ("en", "nb")


def _both(message: str, separator: str) -> str:
    """`message` (a msgid) in English and bokmål."""
    return separator.join(gettext(lang, message) for lang in _PAGE_LANGUAGES)


def _page(status: int, title: str, text: str, extra: str = "") -> web.Response:
    from aiohttp import web

    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{text}</p>{extra}</body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")
