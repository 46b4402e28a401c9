"""iMIP invitations (RFC 5546 REQUEST/CANCEL carried by e-mail as in RFC 6047).

`build_invite` is pure: registry records in, an `EmailMessage` out (or HeaderValueError for a
recipient or text that cannot go into a header). Sending and the ledger live in `dispatch`.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from icalendar import Calendar, vCalAddress

from bot.calendar.identity import PRODID
from bot.calendar.texts import contacts_heading, format_when
from bot.calendar.vevent import (
    add_timezones,
    calendar_param,
    event_component,
    event_contacts,
)
from bot.delivery.render import automated_headers
from bot.i18n import gettext
from bot.mail import (
    MAIL_POLICY,
    address_header,
    check_address,
    header_text,
    mailbox,
    subject_header,
)
from bot.registry.data import EventRec, RegistryData

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class Invitee:
    """Who an invite goes to."""

    address: str
    name: str | None = None


@dataclass(frozen=True)
class Organizer:
    """The sending mailbox (From) and the ORGANIZER of the invites."""

    address: str
    from_name: str
    organizer_name: str
    # Where answers go (inbound.address): ORGANIZER and Reply-To; empty: `address`.
    reply_address: str = ""


def invite_calendar(
    data: RegistryData,
    ev: EventRec,
    invitee: Invitee,
    organizer: Organizer,
    *,
    method: Method,
    now: datetime,
    lang: str,
) -> Calendar:
    """The iTIP object: METHOD, the event with its feed UID and stored SEQUENCE, ORGANIZER and
    exactly one ATTENDEE (the recipient), and a VTIMEZONE for every TZID used."""
    calendar = Calendar.new(prodid=PRODID, method=method)
    # Calendar.new invents a random VCALENDAR UID; an iTIP message is identified by the
    # event's UID alone, so a second, changing UID would only confuse readers and tools.
    del calendar["UID"]
    component = event_component(
        data, ev, lang=lang, stamp=now.astimezone(UTC), cancelled=method == "CANCEL"
    )
    component["ORGANIZER"] = vCalAddress.new(
        f"mailto:{organizer.reply_address or organizer.address}",
        cn=calendar_param(organizer.organizer_name) or None,
    )
    component["ATTENDEE"] = vCalAddress.new(
        f"mailto:{invitee.address}",
        cn=calendar_param(invitee.name or "") or invitee.address,
        cutype="INDIVIDUAL",
        role="REQ-PARTICIPANT",
        partstat="NEEDS-ACTION",
        rsvp=method == "REQUEST",
    )
    calendar.add_component(component)
    add_timezones(calendar, [ev], data.timezone)
    return calendar


def build_invite(
    data: RegistryData,
    ev: EventRec,
    invitee: Invitee,
    organizer: Organizer,
    *,
    method: Method,
    now: datetime,
    lang: str,
    update: bool = False,
) -> EmailMessage:
    """The complete iMIP e-mail: multipart/mixed holding multipart/alternative (text/plain,
    text/html, text/calendar; method=...) and the same calendar as an invite.ics attachment.

    Raises HeaderValueError when the recipient's address or name, the sender, or the title
    cannot be put into a header (line breaks, spaces in addresses, ...).
    """
    if method == "REQUEST" and ev.cancelled:
        raise ValueError(f"event {ev.key!r} is cancelled; only a CANCEL can be sent for it")
    check_address(invitee.address, "recipient address")
    to = address_header(invitee.name, invitee.address, "recipient address")
    sender = address_header(
        organizer.from_name, organizer.address, "sender address (email.from_address)"
    )
    domain = organizer.address.rpartition("@")[2]
    header_text(organizer.organizer_name, "calendar.organizer_name")
    title = header_text(ev.title(lang), f"title of event {ev.key}")
    when = format_when(ev.start, ev.end, lang, short=True)
    kind = "cancel" if method == "CANCEL" else ("update" if update else "invite")
    subject = header_text(_subject(kind, lang, title=title, when=when), "subject")

    ics = invite_calendar(data, ev, invitee, organizer, method=method, now=now, lang=lang)
    ics_bytes = ics.to_ical()

    message = EmailMessage(policy=MAIL_POLICY)
    # Addresses are written by bot.mail (encoded display names that always parse back to one
    # mailbox); other headers are checked text.
    message["From"] = sender
    message["To"] = to
    if organizer.reply_address:
        message["Reply-To"] = mailbox(None, organizer.reply_address, "inbound.address")
    message["Subject"] = subject_header(subject.strip())
    message["Date"] = format_datetime(now.astimezone(UTC))
    # Short enough to stay on one header line; the key helps whoever reads a bounce.
    message["Message-ID"] = f"<{_id_part(ev)}.{secrets.token_hex(6)}@{domain}>"
    automated_headers(message)
    plain, rich = _bodies(data, ev, lang, kind)
    message.set_content(plain, cte="quoted-printable")
    message.add_alternative(rich, subtype="html", cte="quoted-printable")
    # RFC 6047: the text/calendar part's method= must match METHOD inside it.
    message.add_alternative(
        ics_bytes.decode("utf-8"),
        subtype="calendar",
        params={"method": method},
        cte="quoted-printable",
    )
    message.add_attachment(
        ics_bytes,
        maintype="application",
        subtype="ics",
        filename="invite.ics",
        # name= as well as filename=: Outlook and older clients name the file from it.
        params={"name": "invite.ics"},
    )
    return message


def _bodies(data: RegistryData, ev: EventRec, lang: str, kind: str) -> tuple[str, str]:
    title = ev.title(lang)
    intro = _intro(kind, lang, title=title)
    if kind == "cancel":
        outro = gettext(
            lang, "Your calendar program can remove the event using the attached update."
        )
    else:
        outro = gettext(lang, "The invitation is attached: accept or decline it in your calendar.")
    facts = [(gettext(lang, "When"), format_when(ev.start, ev.end, lang))]
    if ev.location:
        facts.append((gettext(lang, "Where"), ev.location))
    contacts = [c.line(data, lang) for c in event_contacts(data, ev)]
    description = ev.description(lang)

    lines = [intro, ""]
    lines += [f"{name}: {value}" for name, value in facts]
    if description:
        lines += ["", description]
    if contacts:
        lines += ["", contacts_heading(len(contacts), lang) + ":"]
        lines += [f"- {c}" for c in contacts]
    lines += ["", outro, ""]
    plain = "\n".join(lines)

    esc = html.escape
    parts = [f"<p>{esc(intro)}</p>", "<table>"]
    parts += [f"<tr><th align='left'>{esc(n)}</th><td>{esc(v)}</td></tr>" for n, v in facts]
    parts.append("</table>")
    if description:
        parts.append("<p>" + esc(description).replace("\n", "<br>") + "</p>")
    if contacts:
        heading = contacts_heading(len(contacts), lang)
        items = "".join(f"<li>{esc(c)}</li>" for c in contacts)
        parts.append(f"<p>{esc(heading)}:</p><ul>{items}</ul>")
    parts.append(f"<p>{esc(outro)}</p>")
    rich = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title></head><body>" + "\n".join(parts) + "</body></html>\n"
    )
    return plain, rich


def _subject(kind: str, lang: str, *, title: str, when: str) -> str:
    if kind == "cancel":
        return gettext(lang, "Cancelled: {title} ({when})", title=title, when=when)
    if kind == "update":
        return gettext(lang, "Updated invitation: {title} ({when})", title=title, when=when)
    return gettext(lang, "Invitation: {title} ({when})", title=title, when=when)


def _intro(kind: str, lang: str, *, title: str) -> str:
    if kind == "cancel":
        return gettext(lang, "{title} has been cancelled.", title=title)
    if kind == "update":
        return gettext(
            lang,
            "The invitation to {title} has changed; the details below are current.",
            title=title,
        )
    return gettext(lang, "You are invited to {title}.", title=title)


def _id_part(ev: EventRec) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "", ev.key)[:32] + f".{ev.sequence}"
