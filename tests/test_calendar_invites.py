"""iMIP messages built for the four meetings, checked part by part and by two parsers."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.calendar.identity import event_uid
from bot.calendar.invites import Invitee, Organizer, build_invite
from bot.mail import HeaderValueError
from bot.services import Services
from tests.calendar_checks import check_imip

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

FIXTURES = Path(__file__).parent / "fixtures"
MEETINGS = ("county-meeting", "network-meeting", "batch2-info-meeting", "steering-group-meeting")
ORGANIZER = Organizer("coordbot@u4ssc-norge.example.org", "U4SSC Norge - coordbot", "U4SSC Norge")
NOW = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)


def _reparse(message: EmailMessage) -> EmailMessage:
    """The message as a receiver sees it: serialised to bytes and parsed back."""
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("key", MEETINGS)
@pytest.mark.parametrize("lang", ["en", "nb"])
def test_request_and_cancel_for_each_meeting(services: Services, key: str, lang: str) -> None:
    data = services.registry.snapshot()
    ev = data.event_by_key[key]
    invitee = Invitee("ola.nordmann@example.org", "Ola Nordmann")
    request = build_invite(data, ev, invitee, ORGANIZER, method="REQUEST", now=NOW, lang=lang)
    vevent = check_imip(
        _reparse(request),
        method="REQUEST",
        event_key=key,
        sequence=ev.sequence,
        attendee="ola.nordmann@example.org",
        organizer=ORGANIZER.address,
    )
    assert str(vevent["SUMMARY"]) == ev.title(lang)
    assert vevent["DTSTART"].dt == ev.start
    assert str(vevent["ATTENDEE"].params["CN"]) == "Ola Nordmann"
    assert str(vevent["ORGANIZER"].params["CN"]) == "U4SSC Norge"

    cancelled = dataclasses.replace(ev, cancelled=True, sequence=ev.sequence + 1)
    cancel = build_invite(data, cancelled, invitee, ORGANIZER, method="CANCEL", now=NOW, lang=lang)
    vcancel = check_imip(
        _reparse(cancel),
        method="CANCEL",
        event_key=key,
        sequence=ev.sequence + 1,
        attendee="ola.nordmann@example.org",
        organizer=ORGANIZER.address,
    )
    assert str(vcancel["UID"]) == str(vevent["UID"]) == event_uid(key)
    # .strip(): CPython's parser keeps the space of a folded first line (RFC 5322 unfolding
    # makes it the usual space after the colon).
    subject = str(_reparse(cancel)["Subject"]).strip()
    assert subject.startswith("Cancelled: " if lang == "en" else "Avlyst: ")


def test_bodies_tell_the_reader_what_when_where_and_whom(services: Services) -> None:
    data = services.registry.snapshot()
    ev = data.event_by_key["steering-group-meeting"]
    invitee = Invitee("kristian.mjoen@trondheim.kommune.no", "Kristian Mjøen")
    message = _reparse(
        build_invite(data, ev, invitee, ORGANIZER, method="REQUEST", now=NOW, lang="nb")
    )
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    text = plain.get_content()
    assert "Du er invitert til Første ordinære styringsgruppemøte" in text
    assert "Når: fredag 24. april 2020, hele dagen" in text
    assert "Hvor: Ålesund (The North West conference)" in text
    assert "Kari Aina Eik" in text and "<sg.office@oier.pro>" in text
    assert "&lt;sg.office@oier.pro&gt;" in rich.get_content()
    assert str(message["Subject"]) == (
        "Invitasjon: Første ordinære styringsgruppemøte i Bærekraftsløftet, "
        "under The North West (2020-04-24)"
    )


def test_update_subject_and_request_for_cancelled_event(services: Services) -> None:
    data = services.registry.snapshot()
    ev = data.event_by_key["network-meeting"]
    invitee = Invitee("a@example.org")
    update = build_invite(
        data, ev, invitee, ORGANIZER, method="REQUEST", now=NOW, lang="en", update=True
    )
    assert str(update["Subject"]).startswith("Updated invitation: ")
    # Without a name the ATTENDEE's CN is the address itself.
    assert "CN=a@example.org" in update.get_body(preferencelist=("calendar",)).get_content()
    with pytest.raises(ValueError, match="cancelled"):
        build_invite(
            data,
            dataclasses.replace(ev, cancelled=True),
            invitee,
            ORGANIZER,
            method="REQUEST",
            now=NOW,
            lang="en",
        )


@pytest.mark.parametrize(
    ("invitee", "reason"),
    [
        (Invitee("randi. myhre@molde.kommune.no", "Randi Myhre"), "contains a space"),
        (Invitee("a@example.org\r\nBcc: spy@example.org"), "line break"),
        (Invitee("a@example.org", "Ola\r\nBcc: spy@example.org"), "line break"),
        (Invitee("a@example.org,b@example.org"), "exactly one @"),
    ],
)
def test_unusable_recipients_fail_cleanly(
    services: Services, invitee: Invitee, reason: str
) -> None:
    data = services.registry.snapshot()
    ev = data.event_by_key["county-meeting"]
    with pytest.raises(HeaderValueError, match=reason):
        build_invite(data, ev, invitee, ORGANIZER, method="REQUEST", now=NOW, lang="en")


def test_title_with_a_line_break_never_reaches_the_subject(services: Services) -> None:
    data = services.registry.snapshot()
    ev = dataclasses.replace(
        data.event_by_key["county-meeting"], title_en="Meeting\r\nBcc: spy@example.org"
    )
    with pytest.raises(HeaderValueError, match="title of event county-meeting"):
        build_invite(
            data, ev, Invitee("a@example.org"), ORGANIZER, method="REQUEST", now=NOW, lang="en"
        )


@pytest.mark.parametrize(
    ("name", "method", "sequence"),
    [
        ("invite-steering-group-meeting.eml", "REQUEST", 0),
        ("cancel-steering-group-meeting.eml", "CANCEL", 1),
    ],
)
def test_sample_messages_in_fixtures(name: str, method: str, sequence: int) -> None:
    raw = (FIXTURES / name).read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    check_imip(
        message,
        method=method,
        event_key="steering-group-meeting",
        sequence=sequence,
        attendee="kristian.mjoen@trondheim.kommune.no",
        organizer="coordbot@u4ssc-norge.example.org",
    )
    assert b"\r\n" in raw  # RFC 5322 line ends
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78  # RFC 5322 2.1.1 SHOULD
