"""Property tests: awkward titles, names and places can neither break a calendar nor get into
a mail header they do not belong in."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from hypothesis import event as label_case
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.calendar.feeds import feed_document, find_feed
from bot.calendar.invites import Invitee, Organizer, build_invite
from bot.config import CalendarConfig
from bot.mail import HeaderValueError
from bot.registry.data import EventRec, PersonRec, RegistryData, RoleRec, RoleTypeRec
from tests.calendar_checks import parse_both

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)
ORGANIZER = Organizer("coordbot@example.org", "U4SSC Norge - coordbot", "U4SSC Norge")
EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "auto-submitted",
    "x-auto-response-suppress",
}
_LINE_BREAK_OR_CONTROL = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
    r"|=\?[^?]*\?[qQbB]\?.*?\?=",
    re.DOTALL,
)

# The characters that break naive calendars and mail: quoting, separators, escapes, line
# breaks, Norwegian letters, emoji and a header that tries to sneak in.
TRICKY = st.sampled_from(
    [
        '"',
        "'",
        ";",
        ",",
        ":",
        "\\",
        "\n",
        "\r\n",
        "\r",
        "\t",
        "æ",
        "ø",
        "å",
        "Æ",
        "Ø",
        "Å",
        "🎉",
        "👩🏽‍💻",
        "^",
        "=?utf-8?q?x?=",
        "=?utf-8?q?=0D=0ABcc:_spy@example.org?=",
        "\r\nBcc: spy@example.org",
        "\u2028",
        "\x85",
        "\x0b",
        " ",
        "<",
        ">",
        "@",
    ]
)
TEXT = st.lists(
    st.one_of(TRICKY, st.text(st.characters(exclude_categories=("Cs",)), max_size=8)),
    min_size=1,
    max_size=8,
).map("".join)
# The same without line breaks and controls, so most invites get built and fully checked.
SINGLE_LINE = st.lists(
    st.one_of(
        TRICKY.filter(lambda t: not _LINE_BREAK_OR_CONTROL.search(t)),
        st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=8),
    ),
    min_size=1,
    max_size=8,
).map("".join)
HEADER_BOUND = st.one_of(SINGLE_LINE, TEXT)


def _registry(title: str, place: str, name: str, timed: bool) -> RegistryData:
    start: date | datetime = datetime(2020, 4, 24, 10, tzinfo=OSLO) if timed else date(2020, 4, 24)
    end: date | datetime | None = datetime(2020, 4, 24, 12, tzinfo=OSLO) if timed else None
    event = EventRec(
        key="meeting",
        kind="meeting",
        title_en=title,
        title_nb=title,
        start=start,
        end=end,
        location=place,
        description_en=f"{title}\n{place}",
        contact_roles=("host",),
        updated_at=NOW,
    )
    person = PersonRec("host", name, "host@example.org", None, (RoleRec("host"),))
    return RegistryData(
        role_types=(RoleTypeRec("host", "host", "vert"),), people=(person,), events=(event,)
    )


def _ical_text(value: str) -> str:
    """What a calendar keeps of a text: line breaks as LF and no other control characters.
    Every other character survives; the two characters backslash-N stay backslash-N (a writer
    that turns them into a line break corrupts the text: RFC 5545 3.3.11 escapes a backslash)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value)


@settings(max_examples=60, deadline=None)
@given(title=TEXT, place=TEXT, name=TEXT, timed=st.booleans())
# Known failures, tried on every run: a backslash before N (in each field), a lone backslash.
@example(title="\\N", place="x", name="x", timed=False)
@example(title="x", place="a\\Nb", name="x", timed=True)
@example(title="x", place="x", name="\\N", timed=False)
@example(title="\\", place="\\n\\,\\;", name="x", timed=True)
def test_feed_survives_any_text(title: str, place: str, name: str, timed: bool) -> None:
    data = _registry(title, place, name, timed)
    document = feed_document(data, find_feed(data, "programme", "en"), CalendarConfig(), "en")
    calendar, vcal = parse_both(document)
    events = calendar.walk("VEVENT")
    assert len(events) == 1 and len(vcal.contents["vevent"]) == 1
    assert str(events[0]["SUMMARY"]) == _ical_text(title)
    assert str(events[0].get("LOCATION", "")) == _ical_text(place)
    assert vcal.vevent.summary.value == _ical_text(title)
    if _ical_text(place):
        assert vcal.vevent.location.value == _ical_text(place)
    assert vcal.vevent.uid.value == "meeting@coordbot.u4ssc-norge"
    assert _ical_text(name) in str(events[0]["DESCRIPTION"])


@settings(max_examples=60, deadline=None)
@given(title=HEADER_BOUND, place=TEXT, name=HEADER_BOUND, timed=st.booleans())
@example(title="\\N", place="x", name="x", timed=False)
@example(title="x", place="a\\Nb", name="x", timed=True)
@example(title="x", place="x", name="\\N", timed=False)
@example(title="=?utf-8?q?x?=", place="x", name="x", timed=False)
@example(title="x", place="x", name="a\u2028b", timed=True)
def test_invite_never_injects_a_header(title: str, place: str, name: str, timed: bool) -> None:
    data = _registry(title, place, name, timed)
    ev = data.events[0]
    invitee = Invitee("ola@example.org", name)
    try:
        message = build_invite(data, ev, invitee, ORGANIZER, method="REQUEST", now=NOW, lang="en")
    except HeaderValueError:
        label_case("refused")
        # Refused exactly when a header-bound text (title or name) has a line break or control.
        assert _LINE_BREAK_OR_CONTROL.search(title) or _LINE_BREAK_OR_CONTROL.search(name)
        return
    assert not _LINE_BREAK_OR_CONTROL.search(title) and not _LINE_BREAK_OR_CONTROL.search(name)
    label_case("built")
    raw = bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert {k.lower() for k in parsed} == EXPECTED_HEADERS
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ola@example.org"]
    # Display names are encoded by bot.mail, so they parse back exactly (blanks collapsed).
    assert parsed["To"].addresses[0].display_name == " ".join(name.split())
    assert " ".join(title.split()) in " ".join(str(parsed["Subject"]).split())
    part = parsed.get_body(preferencelist=("calendar",))
    assert part is not None and part.get_param("method") == "REQUEST"
    calendar, vcal = parse_both(part.get_content().encode("utf-8"))
    event = calendar.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == title
    assert str(event.get("LOCATION", "")) == _ical_text(place)
    shown = " ".join(_ical_text(name).replace("\\", "").split())
    assert str(event["ATTENDEE"].params["CN"]) == (shown or "ola@example.org")
    assert len(vcal.vevent.contents["attendee"]) == 1
