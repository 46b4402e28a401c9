"""What handlers call: subscription links and feed documents, from `Services`."""

from __future__ import annotations

from bot.calendar.feeds import FeedLink, UnknownFeed, feed_document, find_feed, links_for
from bot.services import Services

__all__ = ["FeedLink", "UnknownFeed", "feed_bytes", "feed_links"]


def feed_links(
    services: Services, base_url: str | None = None, lang: str | None = None
) -> list[FeedLink]:
    """Every feed's https/http and webcal:// link, at `base_url`, else calendar.public_base_url,
    else the running calendar server's address, else calendar.listen. ConfigError when none
    of these gives a port (listen on port 0 and no server running)."""
    lang = lang or services.config.bot.default_language
    config = services.config.calendar
    base = base_url or (None if config.public_base_url else services.calendar_base_url)
    return links_for(services.registry.snapshot(), config, lang, base)


def feed_bytes(services: Services, name: str = "programme", lang: str | None = None) -> bytes:
    """The feed called `name` (the whole programme by default) as an iCalendar document;
    raises UnknownFeed."""
    lang = lang or services.config.bot.default_language
    data = services.registry.snapshot()
    return feed_document(data, find_feed(data, name, lang), services.config.calendar, lang)
