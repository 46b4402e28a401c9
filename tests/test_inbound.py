"""Inbound mail through the real stack: `coordbot mail ingest` / `coordbot attendance` /
`registry check` / `broadcast` in process, a real aiosmtpd server for everything sent, and
the fixtures under tests/fixtures/inbound written from the clients' documented formats."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.config import load_config
from bot.delivery.models import OutboxMessage
from bot.inbound.models import InboundMessage
from bot.services import build_services
from tests.smtp_server import SmtpTestServer, smtp_env


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


FIXTURES = Path(__file__).parent / "fixtures" / "inbound"
INBOUND = "coordbot@u4ssc.example.org"
COORDINATOR = 4242
INVITEES = {
    "outlook": "geir.graff@asker.kommune.no",
    "gmail": "Christian.haave@baerum.kommune.no",
    "apple": "vesa.heikki.jantti@bodo.kommune.no",
    "thunderbird": "bente.kristin.malmo@unitedsmartcities.org",
}


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpTestServer]:
    """A real SMTP server, coordbot pointed at it, the inbound address and a coordinator set."""
    with SmtpTestServer() as server:
        smtp_env(server, monkeypatch)
        monkeypatch.setenv("COORDBOT_INBOUND_ADDRESS", INBOUND)
        monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
        monkeypatch.setenv("COORDBOT_DELIVERY_UNSUBSCRIBE_SECRET", "test-signing-key")
        monkeypatch.setenv("COORDBOT_BOT_NOW", "2020-01-15T09:00:00+01:00")
        # The clock is fixed on purpose: the SMTP server here is a test one.
        monkeypatch.setenv("COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK", "true")
        yield server


def ingest(
    capsys: pytest.CaptureFixture[str], path: Path | str, raw: bytes | None = None
) -> tuple[int, dict[str, object]]:
    """`coordbot mail ingest --json FILE`; exit code and the JSON it printed."""
    if raw is not None:
        target = Path(str(path))
        target.write_bytes(raw)
        path = target
    capsys.readouterr()
    code = main(["mail", "ingest", "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def outbox_rows(kind: str) -> list[OutboxMessage]:
    services = build_services(load_config())
    try:
        with services.db.session() as session:
            return list(
                session.scalars(select(OutboxMessage).where(OutboxMessage.source_kind == kind))
            )
    finally:
        services.close()


def send_invites(capsys: pytest.CaptureFixture[str], smtp: SmtpTestServer) -> None:
    for address in INVITEES.values():
        assert main(["ics", "invite", "network-meeting", "--to", address, "--send"]) == 0
    capsys.readouterr()
    # The invites name the inbound address as ORGANIZER and Reply-To, so answers come back.
    raw = smtp.messages[0].data
    assert b"Reply-To: coordbot@u4ssc.example.org\r\n" in raw
    assert (
        b"ORGANIZER;CN=U4SSC Norge:mailto:coordbot@u4ssc.example.org" in raw.replace(b"\r\n ", b"")
        or b"mailto:coordbot@u4ssc.example.org" in raw
    )


# --- invites ---------------------------------------------------------------------------------


def test_accepts_from_four_clients_show_in_attendance(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    send_invites(capsys, smtp)
    capsys.readouterr()
    main(["attendance", "network-meeting", "--json"])
    before = json.loads(capsys.readouterr().out)
    assert {r["partstat"] for r in before} == {"NEEDS-ACTION"}
    assert len(before) == 4
    for client in INVITEES:
        code, out = ingest(capsys, FIXTURES / f"reply-{client}.eml")
        assert code == 0
        assert (out["kind"], out["action"]) == ("imip-reply", "recorded"), (client, out)
    main(["attendance", "network-meeting", "--json"])
    rows = {r["email"]: r for r in json.loads(capsys.readouterr().out)}
    assert {email: r["partstat"] for email, r in rows.items()} == {
        a.lower(): "ACCEPTED" for a in INVITEES.values()
    }
    assert rows["geir.graff@asker.kommune.no"]["comment"] == "Vi kommer gjerne."
    assert rows["christian.haave@baerum.kommune.no"]["name"] == "Christian Holmås Haave"
    assert rows["bente.kristin.malmo@unitedsmartcities.org"]["comment"] == (
        "Kommer om jeg rekker flyet."
    )
    assert set(rows["vesa.heikki.jantti@bodo.kommune.no"]) == {
        "name",
        "email",
        "partstat",
        "updated",
        "comment",
    }
    # An accept tells nobody; the text listing shows the same.
    assert outbox_rows("inbound-notice") == []
    main(["attendance", "network-meeting"])
    assert capsys.readouterr().out.count("ACCEPTED") == 4


def test_decline_reaches_the_coordinators_and_a_stale_reply_is_ignored(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        main(["ics", "invite", "network-meeting", "--to", "ole.helge.haugen@mrfylke.no", "--send"])
        == 0
    )
    code, out = ingest(capsys, FIXTURES / "decline-outlook.eml")
    assert (code, out["action"]) == (0, "recorded")
    notices = outbox_rows("inbound-notice")
    assert [n.address for n in notices] == [str(COORDINATOR)]
    text = notices[0].body.decode()
    assert "ole.helge.haugen@mrfylke.no" in text and "declined" in text
    assert "Jeg er på reise den uken." in text
    # The same reply again: nothing twice.
    code, again = ingest(capsys, FIXTURES / "decline-outlook.eml")
    assert (code, again["action"]) == (0, "duplicate")
    assert len(outbox_rows("inbound-notice")) == 1
    # A reply to an older SEQUENCE than the attendee holds changes nothing.
    raw = (FIXTURES / "reply-outlook.eml").read_bytes()
    stale = raw.replace(b"HE1PR0701MB2345A1B2C3D4E5F6@", b"stale-1@")
    services = build_services(load_config())
    from bot.calendar.records import record_attempt

    with services.db.session() as session:
        record_attempt(
            session,
            event_key="network-meeting",
            recipient="geir.graff@asker.kommune.no",
            name="Geir Graff",
            sequence=2,
            method="REQUEST",
            status="sent",
            message_id="<x@y>",
            now=services.clock.now(),
        )
    services.close()
    code, out = ingest(capsys, tmp_path / "stale.eml", stale)
    assert out["action"] == "ignored"
    assert "SEQUENCE 0, the invite is at 2" in str(out["detail"])


# --- questions -------------------------------------------------------------------------------


def test_question_by_mail_is_answered_in_the_thread_and_language(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = ingest(capsys, FIXTURES / "question-iso-8859-1.eml")
    assert (code, out["kind"], out["action"]) == (0, "question", "replied")
    assert out["delivery"] == "sent"
    [reply] = smtp.messages
    assert reply.rcpt_tos == ["geir.graff@asker.kommune.no"]
    raw = reply.data
    assert b"\r\nIn-Reply-To: <q-latin1-20200115@asker.kommune.no>\r\n" in raw
    assert b"\r\nReferences: <q-latin1-20200115@asker.kommune.no>\r\n" in raw
    assert b"\r\nAuto-Submitted: auto-replied\r\n" in raw
    parsed = reply.parsed()
    assert parsed["Subject"] == "Re: Spørsmål om datakontakt"
    body = parsed.get_content()
    assert "Christian Holmås Haave" in body
    assert out["items"][0]["lang"] == "nb"  # type: ignore[index]


@pytest.mark.parametrize(
    ("fixture", "expected", "lang"),
    [
        ("question-windows-1252.eml", "styringsgruppe", "nb"),
        ("question-html-only.eml", "Vesa Heikki Jäntti", "en"),
        ("question-quoting-answer.eml", "Vesa Heikki Jäntti", "nb"),
    ],
)
def test_charsets_html_and_quoted_text(
    smtp: SmtpTestServer,
    capsys: pytest.CaptureFixture[str],
    fixture: str,
    expected: str,
    lang: str,
) -> None:
    code, out = ingest(capsys, FIXTURES / fixture)
    assert (code, out["action"]) == (0, "replied"), out
    item = out["items"][0]  # type: ignore[index]
    assert item["lang"] == lang
    # The quoted answer (Bærum) and the signature are not read as the question.
    assert "Bærum" not in item["question"]
    assert expected.lower() in smtp.messages[-1].parsed().get_content().lower()


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("oof-exchange.eml", "auto-reply"),
        ("vacation-rfc3834.eml", "auto-reply"),
        ("list-mail.eml", "list"),
    ],
)
def test_no_answer_to_robots_or_lists(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], fixture: str, kind: str
) -> None:
    code, out = ingest(capsys, FIXTURES / fixture)
    assert (code, out["kind"], out["action"]) == (0, kind, "ignored")
    assert smtp.messages == []
    assert outbox_rows("mail-reply") == []


def test_own_mail_and_rate_limit(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = (FIXTURES / "question-iso-8859-1.eml").read_bytes()
    own = raw.replace(b"geir.graff@asker.kommune.no", INBOUND.encode()).replace(b"q-latin1", b"own")
    _code, out = ingest(capsys, tmp_path / "own.eml", own)
    assert out["action"] == "ignored" and "itself" in str(out["detail"])
    actions = []
    for n in range(5):
        copy = raw.replace(b"q-latin1-20200115", f"q-{n}".encode())
        _code, out = ingest(capsys, tmp_path / f"q{n}.eml", copy)
        actions.append(out["action"])
    assert actions == ["replied"] * 3 + ["rate-limited"] * 2
    assert len(smtp.messages) == 3


def test_unknown_sender_under_known_access_gets_nothing(
    smtp: SmtpTestServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COORDBOT_BOT_DIRECTORY_ACCESS", "known")
    raw = (FIXTURES / "question-iso-8859-1.eml").read_bytes()
    stranger = raw.replace(b"geir.graff@asker.kommune.no", b"someone@example.net")
    _code, out = ingest(capsys, tmp_path / "stranger.eml", stranger)
    assert out["action"] == "ignored"
    _code, out = ingest(capsys, FIXTURES / "question-html-only.eml")
    assert out["action"] == "replied"  # a registry address (in another case)
    assert [m.rcpt_tos for m in smtp.messages] == [["christian.haave@baerum.kommune.no"]]


def test_unsubscribe_by_mail(smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = ingest(capsys, FIXTURES / "unsubscribe-mailto.eml")
    assert (code, out["action"]) == (0, "unsubscribed")
    main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", "x", "--dry-run"])
    preview = capsys.readouterr().out
    assert "unsubscribed: Geir Graff (email)" in preview


# --- unreadable --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("broken-mime.eml", "broken MIME"),
        ("unknown-charset.eml", "unknown charset"),
        ("no-message-id.eml", "no Message-ID"),
    ],
)
def test_unreadable_messages_go_to_a_person(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], fixture: str, reason: str
) -> None:
    code, out = ingest(capsys, FIXTURES / fixture)
    assert (code, out["kind"], out["action"]) == (1, "unreadable", "needs-person")
    assert reason in str(out["detail"])
    [notice] = outbox_rows("inbound-notice")
    assert reason in notice.body.decode()
    assert "From: geir.graff@asker.kommune.no" in notice.body.decode()


def test_huge_message_is_unreadable(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = (FIXTURES / "question-iso-8859-1.eml").read_bytes() + b"A" * (25 * 1024 * 1024)
    code, out = ingest(capsys, tmp_path / "huge.eml", raw)
    assert (code, out["action"]) == (1, "needs-person")
    assert "larger than" in str(out["detail"])


# --- bounces ---------------------------------------------------------------------------------


def _broadcast(capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", text]) == 0
    capsys.readouterr()


def _fill(name: str, smtp_message: object) -> bytes:
    msg = smtp_message
    raw = (FIXTURES / name).read_bytes()
    orig_id = re.search(rb"Message-ID: <([^>]+)>", msg.data).group(1)  # type: ignore[attr-defined]
    return (
        raw.replace(b"@@RETURN_PATH@@", msg.mail_from.encode())  # type: ignore[attr-defined]
        .replace(b"@@RECIPIENT@@", msg.rcpt_tos[0].encode())  # type: ignore[attr-defined]
        .replace(b"@@ORIG_ID@@", orig_id)
    )


@pytest.mark.parametrize("fixture", ["dsn-postfix.eml", "dsn-exchange.eml"])
def test_permanent_bounce_puts_the_address_on_hold(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, fixture: str
) -> None:
    _broadcast(capsys, "Status for datainnsamlingen")
    sent = next(m for m in smtp.messages if m.rcpt_tos == ["geir.graff@asker.kommune.no"])
    # A signed return path per message (VERP).
    assert re.fullmatch(r"coordbot\+bounces-\d+-[0-9a-f]{16}@u4ssc\.example\.org", sent.mail_from)
    code, out = ingest(capsys, tmp_path / "dsn.eml", _fill(fixture, sent))
    assert (code, out["kind"], out["action"]) == (0, "bounce", "held"), out
    [row] = [r for r in outbox_rows("broadcast") if r.address == "geir.graff@asker.kommune.no"]
    assert row.status == "failed" and "5.1.1" in (row.last_error or "")
    main(["registry", "check"])
    report = capsys.readouterr().out
    assert "bounced on 2020-01-15: 550 5.1." in report
    main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", "y", "--dry-run"])
    preview = capsys.readouterr().out
    assert "unreachable: Geir Graff (email): bounced on 2020-01-15" in preview


def test_forged_return_path_is_not_trusted(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _broadcast(capsys, "Status")
    sent = next(m for m in smtp.messages if m.rcpt_tos == ["geir.graff@asker.kommune.no"])
    forged = sent.mail_from[:-30] + "0000000000000000@u4ssc.example.org"
    raw = _fill("dsn-postfix.eml", sent).replace(sent.mail_from.encode(), forged.encode())
    raw = raw.replace(b"geir.graff@asker.kommune.no", b"nobody@example.net")
    _code, out = ingest(capsys, tmp_path / "forged.eml", raw)
    assert out["items"][0]["outbox_id"] is None  # type: ignore[index]
    assert all(r.status == "sent" for r in outbox_rows("broadcast"))


def test_temporary_failures_are_counted_then_held(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _broadcast(capsys, "Status")
    sent = next(m for m in smtp.messages if m.rcpt_tos == ["geir.graff@asker.kommune.no"])
    actions = []
    for n in range(3):
        raw = _fill("dsn-gmail.eml", sent).replace(b"GMR@mx", f"GMR{n}@mx".encode())
        _code, out = ingest(capsys, tmp_path / f"d{n}.eml", raw)
        actions.append(out["action"])
    assert actions == ["counted", "counted", "held"]
    main(["registry", "check"])
    assert "3 temporary failures in a row" in capsys.readouterr().out


def test_ledger_keeps_one_row_per_message(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        ingest(capsys, FIXTURES / "question-html-only.eml")
    services = build_services(load_config())
    with services.db.session() as session:
        rows = list(session.scalars(select(InboundMessage)))
    services.close()
    assert [(r.key, r.action) for r in rows] == [("<q-html-20200115@baerum.kommune.no>", "replied")]
    assert len(smtp.messages) == 1


def test_ingest_reads_standard_input(
    smtp: SmtpTestServer,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    raw = (FIXTURES / "reply-gmail.eml").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert main(["mail", "ingest", "-"]) == 0
    assert capsysbinary.readouterr().out.startswith(b"imip-reply: ignored:")


def test_replies_for_other_events_or_people_change_nothing(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    send_invites(capsys, smtp)
    raw = (FIXTURES / "reply-outlook.eml").read_bytes()
    other_uid = raw.replace(b"HE1PR0701MB2345A1B2C3D4E5F6@", b"other@")
    import base64

    cal = base64.b64decode(b"".join(raw.split(b"base64\r\n\r\n")[1].split(b"\r\n\r\n")[0].split()))
    for name, changed in (
        (
            "uid",
            cal.replace(
                b"UID:network-meeting@coordbot.u4ssc-norge", b"UID:040000008200E00074C5B7101A82E008"
            ),
        ),
        ("who", cal.replace(b"mailto:geir.graff@asker.kommune.no", b"mailto:stranger@example.net")),
    ):
        msg = other_uid.replace(b"<other@", f"<{name}@".encode())
        head, _sep, _rest = msg.partition(b"base64\r\n\r\n")
        body = base64.encodebytes(changed).replace(b"\n", b"\r\n")
        tail = b"\r\n--_000_HE1PR0701MB2345A1B2C3D4E5F6HE1PR0701MB2345eurp_--\r\n"
        if name == "who":
            msg = msg.replace(b"From: Geir Graff <geir.graff@", b"From: Stranger <stranger@")
            head = msg.partition(b"base64\r\n\r\n")[0]
        _code, out = ingest(
            capsys, tmp_path / f"{name}.eml", head + b"base64\r\n\r\n" + body + tail
        )
        assert out["action"] == "ignored", out
    main(["attendance", "network-meeting", "--json"])
    assert {r["partstat"] for r in json.loads(capsys.readouterr().out)} == {"NEEDS-ACTION"}


def test_reply_retried_then_sent_or_left_queued(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COORDBOT_DELIVERY_BACKOFF_SECONDS", "0.2")
    # A retry is due on the system clock; a fixed one never reaches it.
    monkeypatch.delenv("COORDBOT_BOT_NOW")
    smtp.refuse("geir.graff@asker.kommune.no", 451, "4.3.0 try later", times=1)
    code, out = ingest(capsys, FIXTURES / "question-iso-8859-1.eml")
    assert (code, out["delivery"]) == (0, "sent")
    assert len(smtp.messages) == 1
    # No SMTP server at all: the reply waits in the outbox for `coordbot run`; still exit 0.
    monkeypatch.setenv("COORDBOT_EMAIL_SMTP_PORT", "9")
    monkeypatch.setenv("COORDBOT_DELIVERY_BROADCAST_RETRY_SECONDS", "0.5")
    code, out = ingest(capsys, FIXTURES / "question-html-only.eml")
    assert (code, out["action"]) == (0, "replied")
    assert str(out["delivery"]).startswith("pending")
    assert sorted(r.status for r in outbox_rows("mail-reply")) == ["pending", "sent"]
