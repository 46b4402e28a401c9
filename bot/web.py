"""The calendar web server inside `coordbot run`: subscription feeds over HTTP (aiohttp).

GET/HEAD /calendar/NAME.ics (or /calendar/TOKEN/NAME.ics when feeds are not public) serve a
feed as text/calendar with a strong ETag and Last-Modified; If-None-Match (or, without it,
If-Modified-Since) gives 304. GET /healthz says "ok". /unsubscribe (one-click) and /done (the
"we have delivered" link of e-mail reminders) are served here too.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from aiohttp import web

from bot.access import feed_token_owner
from bot.calendar.feedcache import FeedCache, FeedHead, SnapshotReader
from bot.calendar.feeds import FeedLink, UnknownFeed, base_url_for, links_for, token_matches
from bot.config import ConfigError
from bot.dashboard import add_dashboard_routes
from bot.registry.marks import MarkTarget, deadline_municipalities, mark_done
from bot.services import Services
from bot.subscriptions import (
    DoneRecorder,
    DoneTarget,
    Subscriptions,
    add_done_routes,
    add_unsubscribe_routes,
    public_url_problem,
)
from bot.webguard import KEEPALIVE_TIMEOUT_SECONDS, GuardedSite, connection_cap, install_log_limits
from bot.webhook import UpdateReceiver, add_webhook_route

log = logging.getLogger("coordbot.web")


class CalendarServer:
    """A bot.lifecycle.Component serving the feeds; `.port` and `.base_url` are known after
    `start()` (calendar.listen may ask for port 0, any free port)."""

    name = "calendar web server"

    def __init__(self, services: Services) -> None:
        self._services = services
        self._config = services.config.calendar
        self._runner: web.AppRunner | None = None
        self.site: GuardedSite | None = None
        # Built feeds and their ETags, per registry snapshot (bot.calendar.feedcache).
        self.feeds = FeedCache(self._config)
        self._snapshots = SnapshotReader(lambda: services.registry.snapshot())
        self.port: int | None = None
        self.host, port_text = _split_listen(self._config.listen)
        self._listen_port = port_text
        # Webhook mode: set by `coordbot run` to the Telegram chat's receiver before start.
        self.telegram_updates: UpdateReceiver | None = None

    @property
    def base_url(self) -> str:
        """The URL subscribers use (calendar.public_base_url, else the bound address)."""
        return base_url_for(self._config, self.port)

    def links(self, lang: str | None = None) -> list[FeedLink]:
        """Every feed's links as served by this server."""
        lang = lang or self._services.config.bot.default_language
        return links_for(self._services.registry.snapshot(), self._config, lang, self.base_url)

    def application(self) -> web.Application:
        """The aiohttp application (routes only; no sockets)."""
        app = web.Application()
        # Feeds first: aiohttp tries the routes under /calendar in the order they were added,
        # and feed polls are nearly all the traffic.
        app.router.add_get("/calendar/{name}.ics", self._public_feed)
        app.router.add_get("/calendar/{token}/{name}.ics", self._token_feed)
        app.router.add_get("/healthz", self._healthz)
        # The start-up log points at /calendar/: both it and / list the feeds.
        app.router.add_get("/", self._index)
        app.router.add_get("/calendar/", self._index)
        app.router.add_get("/calendar", self._index)
        subscriptions = Subscriptions(
            self._services.db, self._services.clock, self._services.config
        )
        add_dashboard_routes(app, self._services)
        add_unsubscribe_routes(app, subscriptions, self._audience_name)
        add_done_routes(app, subscriptions, done_recorder(self._services))
        telegram = self._services.config.telegram
        if telegram.webhook_url:
            add_webhook_route(
                app, telegram.webhook_url, telegram.webhook_secret, self.telegram_updates
            )
        return app

    def _audience_name(self, key: str, lang: str) -> str:
        audience = self._services.registry.snapshot().audience_by_key.get(key)
        return audience.name(lang) if audience is not None else key

    async def start(self) -> None:
        """Bind calendar.listen and begin serving."""
        if not self._config.public_feeds and not self._config.feed_token:
            raise ConfigError(
                "calendar.public_feeds is false but calendar.feed_token is empty; "
                "set COORDBOT_CALENDAR_FEED_TOKEN to a long random value"
            )
        # No access log: feed URLs can carry the secret token.
        self._runner = web.AppRunner(
            self.application(), access_log=None, keepalive_timeout=KEEPALIVE_TIMEOUT_SECONDS
        )
        await self._runner.setup()
        # Flood defences (bot.webguard): a connection cap under the file limit, a header-read
        # timeout, and errors logged as a rate-limited summary.
        install_log_limits()
        site = GuardedSite(
            self._runner, self.host, self._listen_port, max_connections=connection_cap()
        )
        self.site = site
        try:
            await site.start()
        except OSError:
            await self.stop()  # e.g. the port is taken: release what setup() made
            raise
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._listen_port
        self._services.calendar_base_url = self.base_url
        # The bound address, which a load balancer is pointed at (and tests read).
        log.info("listening on http://%s:%s", self.host, self.port)
        log.info("calendar feeds at %s/calendar/", self.base_url)
        problem = public_url_problem(self.base_url)
        if problem is not None:
            log.warning("%s", problem)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.port is not None and self._services.calendar_base_url == self.base_url:
            self._services.calendar_base_url = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n", content_type="text/plain")

    async def _index(self, request: web.Request) -> web.Response:
        # Most polls have no query string: no query dict is made for them.
        query = request.query_string and request.query.get("lang")
        lang = query or self._services.config.bot.default_language
        if lang not in ("en", "nb", "nn"):
            lang = "en"
        page = await asyncio.to_thread(self._index_page, lang)
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    def _index_page(self, lang: str) -> str:
        """Every feed with its links (public feeds) or its name only (private feeds: the
        links carry a token and are given out by /calendar in the chat)."""
        items = []
        for link in self.links(lang):
            title = html.escape(link.title)
            if self._config.public_feeds:
                items.append(
                    f'<li>{title}: <a href="{html.escape(link.webcal_url)}">subscribe</a> · '
                    f'<a href="{html.escape(link.url)}">{html.escape(link.name)}.ics</a></li>'
                )
            else:
                items.append(f"<li>{title} ({html.escape(link.name)})</li>")
        note = (
            ""
            if self._config.public_feeds
            else "<p>These calendars are private: ask the bot for your links with /calendar.</p>"
        )
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>coordbot calendars"
            "</title></head><body><h1>Calendars</h1>"
            f"{note}<ul>{''.join(items)}</ul></body></html>"
        )

    async def _public_feed(self, request: web.Request) -> web.StreamResponse:
        if not self._config.public_feeds:
            return _not_found()
        return await self._feed(request, request.match_info["name"])

    async def _token_feed(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not token_matches(self._config, token) and (
            await asyncio.to_thread(feed_token_owner, self._services.db, token) is None
        ):
            return _not_found()  # neither the shared token nor a user's own (revoked ones)
        return await self._feed(request, request.match_info["name"])

    async def _feed(self, request: web.Request, name: str) -> web.StreamResponse:
        lang = request.query.get("lang") or self._services.config.bot.default_language
        if lang not in ("en", "nb", "nn"):
            return web.Response(status=400, text="lang must be en, nb or nn\n")
        # A snapshot checked within the last second needs no database work and is taken here;
        # otherwise the read goes off the event loop, one hop for all requests waiting at once.
        data = self._services.registry.cached() or await self._snapshots.get()
        head = self.feeds.head(data, name, lang)
        if head is not None and _not_modified(request, head):
            return web.Response(status=304, headers=head.headers)  # no build, no bytes
        entry = self.feeds.cached(data, name, lang)
        if entry is None:
            try:
                entry = await asyncio.to_thread(self.feeds.entry, data, name, lang)
            except UnknownFeed:
                return _not_found()
        if _not_modified(request, entry.head):
            return web.Response(status=304, headers=entry.head.headers)
        return web.Response(
            body=entry.document,
            headers=entry.head.headers,
            content_type="text/calendar",
            charset="utf-8",
        )


def done_recorder(services: Services) -> DoneRecorder:
    """Looks up and records what a "we have delivered" link names (bot.registry.marks)."""

    def record(target: DoneTarget, lang: str, *, commit: bool) -> tuple[str, str]:
        data = services.registry.snapshot()
        event = data.event_by_key.get(target.event_key)
        if event is None or event.kind != "deadline":
            raise LookupError(target.event_key)
        places = {m.key: m for m in deadline_municipalities(data, event)}
        place = places.get(target.municipality)
        if place is None:
            raise LookupError(target.municipality)
        if commit:
            mark_done(
                services.db,
                MarkTarget(event, place),
                by=f"e-mail link ({target.person})",
                now=services.clock.now(),
            )
        return event.title(lang), place.name

    return record


def _not_modified(request: web.Request, head: FeedHead) -> bool:
    """True when the client's copy is current: If-None-Match, or without it If-Modified-Since."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return _not_modified_since(request, head.last_modified)
    return etag_matches(header, head.etag)


def _not_modified_since(request: web.Request, modified: datetime | None) -> bool:
    """If-Modified-Since (only consulted without If-None-Match, RFC 9110 13.1.3)."""
    header = request.headers.get("If-Modified-Since")
    if modified is None or not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified.replace(microsecond=0) <= since


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses weak comparison (RFC 9110 13.1.2); '*' matches any feed."""
    if header == etag:
        return True  # a client polling a feed sends back the ETag it was given, byte for byte
    if not header:
        return False
    wanted = etag.strip('"')
    for item in header.split(","):
        tag = item.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == wanted:
            return True
    return False


def _not_found() -> web.Response:
    return web.Response(status=404, text="no such calendar\n", content_type="text/plain")


def _split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep:
        raise ConfigError(f"calendar.listen must be host:port, got {listen!r}")
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(f"calendar.listen must end in a port number, got {listen!r}") from None
    return host.strip("[]") or "127.0.0.1", number
