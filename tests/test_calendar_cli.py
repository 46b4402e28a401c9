"""`coordbot ics feed|invite` as a user runs them."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.cli import main
from tests.calendar_checks import check_imip, parse_both
from tests.smtp_server import SmtpTestServer, smtp_env


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _run(capsys: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.decode("utf-8")


def test_feed_to_stdout_and_file(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    code, out, _err = _run(capsysbinary, "ics", "feed", "--audience", "pulje 1")
    assert code == 0
    calendar, _ = parse_both(out)
    assert str(calendar["NAME"]).endswith("First evaluation batch")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "bodo.ics"
    code, out, _err = _run(capsysbinary, "ics", "feed", "--municipality", "Bodø", "-o", str(target))
    assert code == 0 and out == b""
    assert (
        parse_both(target.read_bytes())[0]["UID"] == "feed-municipality-bodo@coordbot.u4ssc-norge"
    )
    assert [p.name for p in out_dir.iterdir()] == ["bodo.ics"]  # no temporary left behind


def test_feed_links_and_unknown_names(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")
    code, out, err = _run(capsysbinary, "ics", "feed", "--links")
    assert code == 2 and "set calendar.public_base_url" in err  # the tests listen on port 0
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL", "https://kalender.example.org")
    code, out, _err = _run(capsysbinary, "ics", "feed", "--links")
    lines = out.decode().splitlines()
    assert code == 0 and lines[0].split("\t")[0] == "programme"
    assert all(line.split("\t")[3].startswith("webcal://kalender.example.org/") for line in lines)
    code, out, err = _run(capsysbinary, "ics", "feed", "--links", "--audience", "styringsgruppen")
    assert out.decode().split("\t")[0] == "audience-steering-group"
    code, out, err = _run(capsysbinary, "ics", "feed", "--municipality", "Kristiansand")
    assert code == 2 and out == b"" and "no municipality 'Kristiansand'" in err
    assert "Traceback" not in err


def test_invite_prints_the_complete_email(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, _err = _run(
        capsysbinary, "ics", "invite", "batch2-info-meeting", "--to", "ola@example.org"
    )
    assert code == 0
    assert out.startswith(b"From: ") and b"\r\n\r\n" in out
    message = email.message_from_bytes(out, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    check_imip(
        message,
        method="REQUEST",
        event_key="batch2-info-meeting",
        sequence=0,
        attendee="ola@example.org",
        organizer="coordbot@from-address-not-set.invalid",  # no email.from_address here
    )


def test_invite_print_refuses_bad_input_clearly(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = _run(
        capsysbinary, "ics", "invite", "data-deadline", "--to", "randi. myhre@molde.kommune.no"
    )
    assert code == 2 and out == b"" and "contains a space" in err
    code, out, err = _run(capsysbinary, "ics", "invite", "no-such", "--to", "a@example.org")
    assert code == 2 and "no event 'no-such'" in err and "steering-group-meeting" in err
    # Printing a cancellation changes nothing: the registry still has the meeting.
    code, out, err = _run(
        capsysbinary, "ics", "invite", "network-meeting", "--to", "a@example.org", "--cancel"
    )
    assert code == 0 and b"METHOD:CANCEL" in out.replace(b"=\r\n", b"") and "--send" in err
    code, out, _err = _run(capsysbinary, "events", "--json")
    assert b'"cancelled": true' not in out


def test_invite_send_to_audience_and_rerun(
    capsysbinary: pytest.CaptureFixture[bytes],
    smtp_server: SmtpTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp_env(smtp_server, monkeypatch)
    code, out, err = _run(
        capsysbinary,
        "ics",
        "invite",
        "steering-group-meeting",
        "--audience",
        "styringsgruppen",
        "--send",
        "--lang",
        "nb",
    )
    report = out.decode()
    assert code == 0, err
    assert "2 sent" in report and "2 skipped" in report
    assert "sent         Kristian Mjøen <kristian.mjoen@trondheim.kommune.no>" in report
    assert len(smtp_server.messages) == 2 and smtp_server.connections == 1

    code, out, _err = _run(
        capsysbinary,
        "ics",
        "invite",
        "steering-group-meeting",
        "--audience",
        "steering-group",
        "--send",
    )
    assert code == 0 and "2 already-sent" in out.decode()
    assert len(smtp_server.messages) == 2

    code, out, _err = _run(
        capsysbinary,
        "ics",
        "invite",
        "steering-group-meeting",
        "--to",
        "sg.office@oier.pro",
        "--cancel",
        "--send",
    )
    assert code == 0 and "1 sent" in out.decode()
    cancel = smtp_server.messages[2].parsed()
    check_imip(
        cancel,
        method="CANCEL",
        event_key="steering-group-meeting",
        sequence=1,
        attendee="sg.office@oier.pro",
        organizer="coordbot@u4ssc-norge.example.org",
    )
    code, out, _err = _run(capsysbinary, "ics", "feed", "--audience", "steering-group")
    assert b"STATUS:CANCELLED" in out


def test_invite_send_reports_failures_with_exit_1(
    capsysbinary: pytest.CaptureFixture[bytes],
    smtp_server: SmtpTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp_env(smtp_server, monkeypatch)
    smtp_server.refuse("nobody@example.org", 550, "5.1.1 no such user")
    code, out, _err = _run(
        capsysbinary, "ics", "invite", "county-meeting", "--to", "nobody@example.org", "--send"
    )
    assert code == 1
    assert "failed       nobody@example.org: recipient refused" in out.decode()
    assert "550" in out.decode()
