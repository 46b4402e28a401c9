"""Subscription calendars: the whole programme, one per audience, one per municipality."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from icalendar import Calendar, vDuration

from bot.calendar.identity import PRODID, feed_uid
from bot.calendar.texts import programme_name
from bot.calendar.vevent import add_timezones, event_component, set_text
from bot.config import CalendarConfig, ConfigError
from bot.registry.data import EventRec, RegistryData
from bot.textnorm import fold

PROGRAMME_FEED = "programme"
# DTSTAMP of an event the registry has no change time for (never in a seeded database): a
# fixed instant keeps the feed byte-identical between runs.
_EPOCH = datetime(2019, 1, 1, tzinfo=UTC)

FeedKind = Literal["programme", "audience", "municipality"]


class UnknownFeed(LookupError):
    """No feed has that name."""


@dataclass(frozen=True)
class FeedSpec:
    """One subscription calendar: `name` is its URL name (`programme`, `audience-batch1`,
    `municipality-bodo`), `key` the audience or municipality key."""

    name: str
    kind: FeedKind
    key: str | None
    title: str


@dataclass(frozen=True)
class FeedLink:
    """Where to subscribe to a feed: an https (or http) URL and the same as webcal://."""

    name: str
    title: str
    url: str
    webcal_url: str


def feed_specs(data: RegistryData, lang: str) -> list[FeedSpec]:
    """Every feed: the programme, then each audience, then each municipality."""
    specs = [FeedSpec(PROGRAMME_FEED, "programme", None, programme_name(lang))]
    specs += [
        FeedSpec(f"audience-{a.key}", "audience", a.key, a.name(lang)) for a in data.audiences
    ]
    specs += [
        FeedSpec(f"municipality-{m.key}", "municipality", m.key, m.name)
        for m in data.municipalities
    ]
    return specs


def find_feed(data: RegistryData, name: str, lang: str) -> FeedSpec:
    """The feed called `name`; raises UnknownFeed."""
    for spec in feed_specs(data, lang):
        if spec.name == name:
            return spec
    raise UnknownFeed(name)


def resolve_feed(
    data: RegistryData, lang: str, *, audience: str | None = None, municipality: str | None = None
) -> FeedSpec:
    """The feed for an audience or municipality given by key, name or alias (æøå folded);
    the programme feed when neither is given. Raises UnknownFeed with the choices."""
    if audience is not None:
        wanted = fold(audience)
        for a in data.audiences:
            if wanted in {fold(a.key), fold(a.name_en), fold(a.name_nb), *map(fold, a.aliases)}:
                return find_feed(data, f"audience-{a.key}", lang)
        choices = ", ".join(a.key for a in data.audiences)
        raise UnknownFeed(f"no audience {audience!r}; audiences: {choices}")
    if municipality is not None:
        wanted = fold(municipality)
        for m in data.municipalities:
            if wanted in {fold(m.key), fold(m.name), *map(fold, m.aliases)}:
                return find_feed(data, f"municipality-{m.key}", lang)
        choices = ", ".join(m.key for m in data.municipalities)
        raise UnknownFeed(f"no municipality {municipality!r}; municipalities: {choices}")
    return find_feed(data, PROGRAMME_FEED, lang)


def feed_events(data: RegistryData, spec: FeedSpec) -> list[EventRec]:
    """The events in a feed, in date order. Programme: all. Audience: the audience's own
    events. Municipality: events for an audience it belongs to, plus programme-wide ones."""
    if spec.kind == "programme":
        chosen = list(data.events)
    elif spec.kind == "audience":
        chosen = [e for e in data.events if spec.key in e.audiences]
    else:
        member_of = {a.key for a in data.audiences if spec.key in a.municipalities}
        chosen = [e for e in data.events if not e.audiences or member_of & set(e.audiences)]
    return sorted(chosen, key=lambda e: (e.start_date, e.key))


def build_feed(data: RegistryData, spec: FeedSpec, config: CalendarConfig, lang: str) -> Calendar:
    """The subscription calendar for `spec` (no METHOD: a published calendar, not iTIP)."""
    events = feed_events(data, spec)
    refresh = timedelta(hours=max(1, config.refresh_interval_hours))
    name = f"{config.organizer_name} - {spec.title}"
    calendar = Calendar.new(prodid=PRODID, uid=feed_uid(spec.name), refresh_interval=refresh)
    # Escaped like any TEXT value (icalendar writes these two unescaped, and a comma then
    # ends the name for vobject).
    set_text(calendar, "NAME", name)
    set_text(calendar, "X-WR-CALNAME", name)
    # Apple Calendar and Google read the calendar's zone from here.
    calendar.add("X-WR-TIMEZONE", data.timezone)
    # RFC 7986 wants VALUE=DURATION on REFRESH-INTERVAL; Apple and Outlook read X-PUBLISHED-TTL.
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    calendar.add("X-PUBLISHED-TTL", vDuration(refresh))
    changed = [e.updated_at for e in events if e.updated_at is not None]
    if changed:
        calendar.add("LAST-MODIFIED", max(changed))
    municipality = spec.key if spec.kind == "municipality" else None
    for ev in events:
        calendar.add_component(
            event_component(
                data,
                ev,
                lang=lang,
                # The feed's DTSTAMP is the event's last change, so an unchanged registry gives
                # byte-identical feeds (and the same ETag).
                stamp=ev.updated_at or _EPOCH,
                municipality=municipality,
                alarm_minutes=config.alarm_minutes,
                mark_cancelled_in_summary=True,
            )
        )
    add_timezones(calendar, events, data.timezone)
    return calendar


def feed_last_modified(data: RegistryData, spec: FeedSpec) -> datetime | None:
    """When anything in the feed last changed (the newest LAST-MODIFIED), None if unknown."""
    changed = [e.updated_at for e in feed_events(data, spec) if e.updated_at is not None]
    return max(changed).astimezone(UTC) if changed else None


def feed_document(data: RegistryData, spec: FeedSpec, config: CalendarConfig, lang: str) -> bytes:
    """The feed as iCalendar bytes (UTF-8, CRLF)."""
    return build_feed(data, spec, config, lang).to_ical()


def feed_etag(document: bytes) -> str:
    """A strong ETag (quoted) for a feed document."""
    return '"' + hashlib.sha256(document).hexdigest()[:32] + '"'


def token_matches(config: CalendarConfig, given: str) -> bool:
    """True when `given` is the configured feed token (compared in constant time)."""
    return bool(config.feed_token) and hmac.compare_digest(
        config.feed_token.encode(), given.encode()
    )


def feed_path(config: CalendarConfig, name: str) -> str:
    """The URL path of a feed: /calendar/NAME.ics, or /calendar/TOKEN/NAME.ics when feeds are
    not public."""
    if config.public_feeds:
        return f"/calendar/{quote(name)}.ics"
    return f"/calendar/{quote(config.feed_token, safe='')}/{quote(name)}.ics"


def base_url_for(config: CalendarConfig, bound_port: int | None = None) -> str:
    """The URL subscribers reach the server at: calendar.public_base_url, else built from
    calendar.listen (with the bound port when the server picked one). ConfigError when the
    port is 0 and no server has bound one."""
    if config.public_base_url:
        return config.public_base_url.rstrip("/")
    host, _sep, port = config.listen.rpartition(":")
    if bound_port is None and port.strip() == "0":
        raise ConfigError(
            "calendar.listen picks a free port (port 0), so feed links need the running "
            "server's address: set calendar.public_base_url"
        )
    host = host or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{bound_port if bound_port is not None else port}"


def webcal_url(url: str) -> str:
    """The same URL with the webcal scheme (calendar apps subscribe on a click)."""
    parts = urlsplit(url)
    return urlunsplit(("webcal", *parts[1:]))


def links_for(
    data: RegistryData, config: CalendarConfig, lang: str, base_url: str | None = None
) -> list[FeedLink]:
    """Subscription links for every feed."""
    base = (base_url or base_url_for(config)).rstrip("/")
    links = []
    for spec in feed_specs(data, lang):
        url = base + feed_path(config, spec.name)
        links.append(FeedLink(spec.name, spec.title, url, webcal_url(url)))
    return links
