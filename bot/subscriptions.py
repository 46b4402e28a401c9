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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from sqlalchemy import Boolean, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import Clock
from bot.config import Config
from bot.db import Base, Database, UTCDateTime
from bot.i18n import gettext
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
class DoneTarget:
    """What a verified "we have delivered" token names."""

    event_key: str
    municipality: str
    person: str


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What a verified unsubscribe token names."""

    subscriber: str
    audience: str
    channel: str


def public_url_problem(base_url: str) -> str | None:
    """Why links built on `base_url` (unsubscribe, "we have delivered", feeds) will not work
    for people outside this machine, or None: not https, or a loopback address."""
    from ipaddress import ip_address
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = host.endswith(".localhost")
    if loopback:
        return (
            f"links in e-mail point at {base_url}, a loopback address nobody else can reach: "
            "set calendar.public_base_url to the server's https address"
        )
    if parts.scheme != "https":
        return (
            f"links in e-mail point at {base_url}, which is not https: mail clients do not "
            "offer one-click unsubscribe without it; set calendar.public_base_url"
        )
    return None


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

    def sign(self, payload: bytes) -> bytes:
        """HMAC-SHA256 of `payload` with the unsubscribe key (also signs bounce return paths)."""
        return hmac.new(self._key(), payload, hashlib.sha256).digest()

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

    def unsubscribe_url(
        self, subscriber: str, audience: str, channel: str = "email", lang: str | None = None
    ) -> str:
        """The one-click URL (on the calendar web server) for List-Unsubscribe; `lang` is the
        language of the page it shows."""
        url = f"{self._base_url()}/unsubscribe?token={quote(self.token(subscriber, audience, channel))}"
        return f"{url}&lang={lang}" if lang else url

    def _base_url(self) -> str:
        from bot.calendar.feeds import base_url_for

        return (None if self._config.calendar.public_base_url else self._served_at) or base_url_for(
            self._config.calendar
        )

    # --- "we have delivered" links in e-mail deadline reminders ----------------------------

    def done_token(self, event_key: str, municipality: str, person: str) -> str:
        """A signed token naming a deadline, a municipality and who got the link."""
        payload = json.dumps(
            ["done", event_key, municipality, person], separators=(",", ":")
        ).encode()
        mac = hmac.new(self._key(), payload, hashlib.sha256).digest()[:16]
        return f"{_b64(payload)}.{_b64(mac)}"

    def read_done_token(self, token: str) -> DoneTarget:
        """Check a "delivered" token's signature; SubscriptionError if it is not valid."""
        try:
            payload_text, mac_text = token.split(".", 1)
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except (ValueError, TypeError):
            raise SubscriptionError("malformed link") from None
        expected = hmac.new(self._key(), payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            raise SubscriptionError("link with a wrong signature")
        try:
            kind, event_key, municipality, person = json.loads(payload)
        except (ValueError, TypeError):
            raise SubscriptionError("malformed link") from None
        if kind != "done":
            raise SubscriptionError("not a delivery confirmation link")
        return DoneTarget(str(event_key), str(municipality), str(person))

    def done_url(self, event_key: str, municipality: str, person: str, lang: str) -> str:
        """The "we have delivered" URL (GET: a confirmation page; POST: marks it done)."""
        token = quote(self.done_token(event_key, municipality, person))
        return f"{self._base_url()}/done?token={token}&lang={lang}"

    def unsubscribe_with(self, token: str) -> UnsubscribeTarget:
        """Honour an unsubscribe token (idempotent)."""
        target = self.read_token(token)
        self.record(target.subscriber, target.audience, target.channel, False, "one-click")
        return target


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- HTTP: /unsubscribe and /done on the calendar web server ----------------------------------


def _page_lang(request: web.Request) -> str:
    lang = request.query.get("lang", "")
    return lang if lang in ("en", "nb", "nn") else "nb"


def add_unsubscribe_routes(
    app: web.Application,
    subscriptions: Subscriptions,
    audience_name: Callable[[str, str], str] | None = None,
) -> None:
    """GET /unsubscribe shows a confirmation button; POST /unsubscribe unsubscribes (RFC 8058
    one-click: the body is `List-Unsubscribe=One-Click`). Pages are in the link's `lang`."""

    def name_of(key: str, lang: str) -> str:
        return audience_name(key, lang) if audience_name is not None else key

    async def confirm_page(request: web.Request) -> web.Response:
        lang = _page_lang(request)
        token = request.query.get("token", "")
        try:
            # The signing key is in the database: off the event loop.
            target = await asyncio.to_thread(subscriptions.read_token, token)
        except SubscriptionError:
            return _invalid(lang)
        action = f"/unsubscribe?token={quote(token)}&lang={lang}"
        form = (
            f'<form method="post" action="{html.escape(action)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{html.escape(gettext(lang, "Unsubscribe"))}</button></form>'
        )
        audience = f"<b>{html.escape(name_of(target.audience, lang))}</b>"
        text = gettext(lang, "Stop e-mails to {audience}?", audience=audience)
        return _page(200, gettext(lang, "Unsubscribe"), text, form, lang)

    async def unsubscribe(request: web.Request) -> web.Response:
        lang = _page_lang(request)
        token = request.query.get("token", "")
        try:
            target = await asyncio.to_thread(subscriptions.unsubscribe_with, token)
        except SubscriptionError:
            return _invalid(lang)
        audience = f"<b>{html.escape(name_of(target.audience, lang))}</b>"
        text = gettext(lang, "You will get no more e-mail to {audience}.", audience=audience)
        return _page(200, gettext(lang, "Unsubscribed"), text, lang=lang)

    app.router.add_get("/unsubscribe", confirm_page)
    app.router.add_post("/unsubscribe", unsubscribe)


class DoneRecorder(Protocol):
    """Marks a deadline met for a municipality; returns (event title, municipality name) in
    `lang`, or raises LookupError when either no longer exists."""

    def __call__(self, target: DoneTarget, lang: str, *, commit: bool) -> tuple[str, str]:
        """Look the target up, and with `commit` record the mark."""
        ...


def add_done_routes(
    app: web.Application, subscriptions: Subscriptions, record: DoneRecorder
) -> None:
    """GET /done shows what the link confirms and a button (link scanners only GET, so they
    confirm nothing); POST /done marks the municipality done, which stops its reminders."""

    async def confirm_page(request: web.Request) -> web.Response:
        lang = _page_lang(request)
        token = request.query.get("token", "")
        try:
            target = subscriptions.read_done_token(token)
            event, place = await asyncio.to_thread(record, target, lang, commit=False)
        except (SubscriptionError, LookupError):
            return _invalid(lang)
        action = f"/done?token={quote(token)}&lang={lang}"
        form = (
            f'<form method="post" action="{html.escape(action)}">'
            f'<button type="submit">{html.escape(gettext(lang, "Yes, we have delivered"))}'
            "</button></form>"
        )
        text = html.escape(
            gettext(
                lang,
                "Has {place} delivered for “{event}”? Confirming stops further reminders about it.",
                place=place,
                event=event,
            )
        )
        return _page(200, gettext(lang, "Confirm delivery"), text, form, lang)

    async def mark(request: web.Request) -> web.Response:
        lang = _page_lang(request)
        token = request.query.get("token", "")
        try:
            target = subscriptions.read_done_token(token)
            event, place = await asyncio.to_thread(record, target, lang, commit=True)
        except (SubscriptionError, LookupError):
            return _invalid(lang)
        text = html.escape(
            gettext(
                lang,
                "{place} is marked as delivered for “{event}”. No more reminders about it will "
                "be sent.",
                place=place,
                event=event,
            )
        )
        return _page(200, gettext(lang, "Thank you"), text, lang=lang)

    app.router.add_get("/done", confirm_page)
    app.router.add_post("/done", mark)


def _invalid(lang: str) -> web.Response:
    text = gettext(lang, "This link is not valid (it may have been cut off or changed).")
    return _page(400, gettext(lang, "Invalid link"), html.escape(text), lang=lang)


def _page(status: int, title: str, text: str, extra: str = "", lang: str = "nb") -> web.Response:
    from aiohttp import web

    body = (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta name='robots' content='noindex'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{text}</p>{extra}</body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")
