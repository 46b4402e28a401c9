"""`coordbot remind plan|done|undone` and `coordbot broadcast --dry-run` / `--channel both`,
through the command line's entry point on a seeded database."""

from __future__ import annotations

import pytest

from bot import access
from bot.cli import main
from bot.delivery.broadcast import source_of
from bot.registry.marks import done_marks
from bot.services import Services
from tests.smtp_server import SmtpTestServer, smtp_env

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

NOW = ["--now", "2020-01-15T09:00"]


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_remind_plan_lists_when_whom_and_how(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remind", "plan", *NOW]) == 0
    out = _out(capsys)
    assert out.startswith("Reminders as of 2020-01-15 09:00 Europe/Oslo (channels: ")
    blocks = out.split("\n\n")
    first = next(
        b for b in blocks if b.startswith("2020-01-17 08:00  14 days before  data-deadline")
    )
    assert "to First evaluation batch: 10 people, 7 messages (email 7)" in first
    assert "    email    Geir Graff (Asker) <geir.graff@asker.kommune.no>" in first.splitlines()
    assert "not by email: Randi Myhre: address defective: address 'randi. myhre@molde" in first
    assert "nobody in the registry at: Narvik" in first
    assert "already done" not in out


def test_remind_done_and_undone_change_the_plan(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remind", "done", "data-deadline", "Molde"]) == 0
    assert _out(capsys) == "Molde has met data-deadline: no more reminders for it.\n"
    assert ("data-deadline", "molde") in done_marks(services.db)
    assert main(["remind", "done", "data-deadline", "molde"]) == 0
    assert _out(capsys) == "Molde was already marked as having met data-deadline.\n"

    assert main(["remind", "plan", *NOW]) == 0
    plan = _out(capsys)
    assert "  already done: Molde" in plan
    deadline = [b for b in plan.split("\n\n") if "data-deadline" in b.splitlines()[0]]
    assert deadline and all("(Molde)" not in block for block in deadline)

    assert main(["remind", "undone", "data-deadline", "Molde"]) == 0
    assert _out(capsys) == (
        "Molde is no longer marked as having met data-deadline: reminders resume.\n"
    )
    assert ("data-deadline", "molde") not in done_marks(services.db)
    assert main(["remind", "undone", "data-deadline", "Molde"]) == 0
    assert _out(capsys) == "Molde was not marked as having met data-deadline.\n"
    assert main(["remind", "plan", *NOW]) == 0
    assert "already done" not in _out(capsys)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["network-meeting", "Asker"], "network-meeting is not a deadline"),
        (["data-deadline", "Ålesund"], "not among"),
        (["data-deadline", "Kristiansand"], "no municipality"),
    ],
)
def test_remind_done_refuses_with_the_reason(
    services: Services, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    assert main(["remind", "done", *args]) == 2
    captured = capsys.readouterr()
    assert reason in captured.err and captured.out == ""
    assert done_marks(services.db) == set()


def test_broadcast_dry_run_shows_and_queues_nothing(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    access.record_chat_user(
        services.db,
        telegram_user_id=501,
        display_name="Geir",
        username=None,
        private_chat_id=501,
        now=services.clock.now(),
    )
    access.link_person(services.db, 501, "geir-graff", by=None)
    argv = ["broadcast", "--audience", "network", "--widen", "--text", "Hei", "--dry-run"]
    assert main(argv) == 0
    lines = _out(capsys).splitlines()
    assert lines[0] == (
        "Dry run: broadcast to Network of Excellence on telegram, email; 8 messages would be queued"
    )
    assert lines[1] == "Subject: U4SSC Norge: Network of Excellence (bynettverket)"
    assert "  telegram Geir Graff <501>" in lines
    assert "  email    Geir Graff <geir.graff@asker.kommune.no>" in lines
    assert "  unreachable: Lars Bjerke (email): no e-mail address in the registry" in lines
    assert services.outbox.progress(source_of(1)).total == 0
    with services.db.session() as session:
        from bot.delivery.models import BroadcastRecord

        assert session.query(BroadcastRecord).count() == 0


def test_channel_both_is_what_the_refusal_offers(
    services: Services,
    smtp_server: SmtpTestServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["broadcast", "--audience", "network", "--channel", "fax", "--text", "x"]) == 2
    assert "--channel must be telegram, email or both" in capsys.readouterr().err
    argv = ["broadcast", "--audience", "network", "--widen", "--channel", "both", "--text", "Hei"]
    assert main([*argv, "--dry-run"]) == 0
    assert "on telegram, email; 7 messages would be queued" in _out(capsys)
    smtp_env(smtp_server, monkeypatch)
    assert main(argv) == 0
    assert "7 sent, 0 failed" in _out(capsys)
    assert len(smtp_server.messages) == 7
