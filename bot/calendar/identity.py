"""Stable calendar identities: UIDs come from the event's key, never from row ids or time."""

from __future__ import annotations

# A fixed domain owned by no mail server: it only makes the UIDs globally unique (RFC 5545
# 3.8.4.7). Changing it would make every calendar see every event as new.
PROGRAMME_DOMAIN = "coordbot.u4ssc-norge"
PRODID = "-//U4SSC Norge//coordbot//EN"


def event_uid(event_key: str) -> str:
    """The UID of an event in feeds and invites alike, for the life of the event."""
    return f"{event_key}@{PROGRAMME_DOMAIN}"


def feed_uid(feed_name: str) -> str:
    """The UID of a subscription calendar (RFC 7986 UID on VCALENDAR)."""
    return f"feed-{feed_name}@{PROGRAMME_DOMAIN}"
