"""`coordbot person forget PERSON` and the outbox retention period, through the command line
on a database filled by the real stack: invites sent to a real SMTP server and answered,
broadcasts delivered and bounced, an unsubscribe by mail, a chat user linked on Telegram.

The class-level check reads every column of every table (text, JSON, e-mail bodies decoded)
for the person's name, address, key and chat id."""

from __future__ import annotations

import email
import email.policy
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.schema
from bot import access
from bot.cli import main
from bot.cli.cached_ask import cache_file
from bot.config import load_config
from bot.delivery.component import DeliveryComponent
from bot.delivery.hold import release_held
from bot.delivery.models import CANCELLED, SENT, TELEGRAM, OutboxMessage
from bot.registry.edits.apply import apply_edit
from bot.registry.edits.audit import Actor, RegistryEdit
from bot.registry.edits.changes import RoleEdit
from bot.registry.marks import MarkTarget, done_marks, mark_done
from bot.registry.tables import MetaEntry
from bot.services import Services, build_services
from tests.smtp_server import SmtpTestServer, smtp_env
from tests.test_inbound import FIXTURES, _fill, ingest

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

INBOUND = "coordbot@u4ssc.example.org"
COORDINATOR = 4242
KEY = "geir-graff"
NAME = "Geir Graff"
ADDRESS = "geir.graff@asker.kommune.no"
CHAT_ID = 7700501  # Geir's Telegram user id and private chat
OTHER = "christian.haave@baerum.kommune.no"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpTestServer]:
    """A real SMTP server, coordbot pointed at it, an inbound address and a coordinator."""
    with SmtpTestServer() as server:
        smtp_env(server, monkeypatch)
        monkeypatch.setenv("COORDBOT_INBOUND_ADDRESS", INBOUND)
        monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
        monkeypatch.setenv("COORDBOT_DELIVERY_UNSUBSCRIBE_SECRET", "test-signing-key")
        monkeypatch.setenv("COORDBOT_BOT_NOW", "2020-01-15T09:00:00+01:00")
        # The clock is fixed on purpose: the SMTP server here is a test one.
        monkeypatch.setenv("COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK", "true")
        yield server


@pytest.fixture
def db_services(smtp: SmtpTestServer) -> Iterator[Services]:
    """Services on the same database and settings the CLI uses."""
    services = build_services(load_config())
    try:
        yield services
    finally:
        services.close()


# --- reading the whole database ----------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    """What a stored value says: text as it is, JSON dumped, bytes decoded (an e-mail's
    headers and text parts too, since quoted-printable and base64 hide words)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict | list):
        return [json.dumps(value, ensure_ascii=False)]
    if isinstance(value, bytes):
        texts = [value.decode("utf-8", errors="replace")]
        message = email.message_from_bytes(value, policy=email.policy.default)
        texts += [str(v) for v in message.values()]
        for part in message.walk():
            if part.get_content_maintype() == "text":
                content = part.get_content()
                texts.append(content if isinstance(content, str) else "")
        return texts
    return []


def personal_data(services: Services) -> list[tuple[str, str, str]]:
    """(table, column, what) for every field in the database that names the person: their
    name, address or key in any text, JSON or body, or their chat id in any number column."""
    needles = (NAME.lower(), ADDRESS, KEY, str(CHAT_ID))
    found = []
    with services.db.engine.connect() as connection:
        for table in bot.schema.METADATA.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    if value == CHAT_ID:
                        found.append((table.name, column, "chat id"))
                    for text in _texts(value):
                        for needle in needles:
                            if needle in text.lower():
                                found.append((table.name, column, needle))
    return sorted(set(found))


def _status_counts(services: Services) -> dict[str, int]:
    with services.db.session() as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return {status: int(n) for status, n in rows}


def _attendance(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["attendance", "network-meeting", "--json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rows


def _generation(services: Services) -> int:
    with services.db.session() as session:
        entry = session.get(MetaEntry, "registry_generation")
        return int(entry.value) if entry is not None else 0


# --- the person's history -----------------------------------------------------------------------


def seed_history(
    services: Services, smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Invites and answers, a delivered broadcast and a bounce, an unsubscribe by mail, a
    linked chat user with a feed token and a Telegram subscription, and a held broadcast."""
    for address in (ADDRESS, OTHER):
        assert main(["ics", "invite", "network-meeting", "--to", address, "--send"]) == 0
    for client in ("outlook", "gmail"):  # Geir's and Christian's accepts
        code, out = ingest(capsys, FIXTURES / f"reply-{client}.eml")
        assert (code, out["action"]) == (0, "recorded"), out
    assert (
        main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", "Status"]) == 0
    )
    sent = next(m for m in smtp.messages if m.rcpt_tos == [ADDRESS] and b"Status" in m.data)
    code, out = ingest(capsys, tmp_path / "dsn.eml", _fill("dsn-postfix.eml", sent))
    assert (code, out["action"]) == (0, "held"), out
    code, out = ingest(capsys, FIXTURES / "unsubscribe-mailto.eml")
    assert (code, out["action"]) == (0, "unsubscribed"), out
    # A broadcast that names him, to the others: he has unsubscribed, so he is in its report.
    text = f"Spørsmål om indikatorene? Spør {NAME}."
    assert main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", text]) == 0
    assert any(NAME.encode() in m.data or b"Sp=C3=B8r" in m.data for m in smtp.messages)

    now = services.clock.now()
    access.record_chat_user(
        services.db,
        telegram_user_id=CHAT_ID,
        display_name=NAME,
        username="geirgraff",
        private_chat_id=CHAT_ID,
        now=now,
    )
    access.link_person(services.db, CHAT_ID, KEY, by=COORDINATOR)
    access.personal_feed_token(services.db, CHAT_ID, now)
    # He also gave himself a role in Bodø from chat (audited), and marked Asker's data
    # delivered with the link in a reminder (as bot.web records it).
    actor = Actor(f"telegram:{CHAT_ID}", NAME)
    apply_edit(services, RoleEdit(KEY, "data_contact", "bodo"), actor)
    data = services.registry.snapshot()
    target = MarkTarget(data.event_by_key["data-deadline"], data.municipality_by_key["asker"])
    mark_done(services.db, target, by=f"e-mail link ({KEY})", now=now)
    # No Telegram token: these rows are held, i.e. still to be sent.
    argv = ["broadcast", "--audience", "batch1", "--channel", "telegram", "--text", "Møte"]
    assert main(argv) in (0, 3)
    capsys.readouterr()


def test_forget_erases_the_person_everywhere_and_keeps_the_counts(
    smtp: SmtpTestServer,
    db_services: Services,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    services = db_services
    seed_history(services, smtp, capsys, tmp_path)
    before = personal_data(services)
    tables = {table for table, _column, _what in before}
    # The check can see the person wherever the stack put them.
    assert {
        "person",
        "outbox",
        "chat_user",
        "feed_token",
        "subscription",
        "attendance",
        "calendar_invite",
        "inbound_message",
        "address_hold",
        "broadcast",
        "registry_edit",
        "deadline_done",
    } <= tables, tables
    assert main(["ask", "--json", "who is Bodø's data contact?"]) == 0
    assert NAME in json.dumps(json.loads(capsys.readouterr().out), ensure_ascii=False)
    # The ask kept its answer index (with the person's name) beside a SQLite database.
    url = services.config.database_url
    kept = (
        cache_file(Path(url.removeprefix("sqlite:///"))) if url.startswith("sqlite:///") else None
    )
    assert kept is None or NAME.encode() in kept.read_bytes()
    with services.db.session() as session:
        held = session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.channel == TELEGRAM, OutboxMessage.recipient == KEY
            )
        ).all()
    assert held
    counts_before = _status_counts(services)
    answers_before = _attendance(capsys)
    assert sorted(r["partstat"] for r in answers_before) == ["ACCEPTED", "ACCEPTED"]
    generation = _generation(services)

    # A dry run by default: it shows what, and changes nothing.
    capsys.readouterr()
    assert main(["person", "forget", ADDRESS]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Would erase {NAME} ({KEY}) <{ADDRESS}>:\n")
    assert "  person: 1\n" in out and "Run again with --yes to erase." in out
    assert personal_data(services) == before
    assert _generation(services) == generation

    caplog.set_level(logging.INFO)
    assert main(["person", "forget", ADDRESS, "--yes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["erased"] is True and report["person"] == KEY
    assert kept is None or not kept.exists()
    counts = report["counts"]
    assert counts["person"] == 1 and counts["roles"] >= 1
    assert counts["chat users"] == 1 and counts["feed tokens"] == 1
    assert counts["subscriptions"] >= 1
    assert counts["outbox messages cancelled"] == len(held)
    assert counts["attendance answers anonymised"] == 1
    assert counts["address holds"] == 1

    # Nothing anywhere names them any more.
    assert personal_data(services) == []
    # The log says who and how much, never whom.
    for record in caplog.records:
        message = record.getMessage().lower()
        assert ADDRESS not in message and NAME.lower() not in message and KEY not in message
    assert any("person erased by cli:" in r.getMessage() for r in caplog.records)

    # Every process renews its registry snapshot.
    assert _generation(services) == generation + 1
    # Counts survive: rows keep their status, except that unsent ones are cancelled.
    counts_after = _status_counts(services)
    assert sum(counts_after.values()) == sum(counts_before.values())
    assert counts_after[SENT] == counts_before[SENT]
    assert counts_after.get(CANCELLED, 0) == counts_before.get(CANCELLED, 0) + len(held)
    answers_after = _attendance(capsys)
    assert sorted(r["partstat"] for r in answers_after) == ["ACCEPTED", "ACCEPTED"]
    assert OTHER in {r["email"] for r in answers_after}

    # Their held messages are cancelled and stay so when Telegram delivery is released.
    with services.db.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(held))).all()
        assert {r.status for r in rows} == {CANCELLED}
        assert {r.body for r in rows} == {b""}
    release_held(services.db, services.config, TELEGRAM)
    with services.db.session() as session:
        statuses = session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.id.in_(held))
        ).all()
    assert set(statuses) == {CANCELLED}

    # The erasure is in the audit table, as counts.
    with services.db.session() as session:
        edit = session.scalars(select(RegistryEdit).order_by(RegistryEdit.id.desc())).first()
    assert edit is not None
    assert (edit.action, edit.subject_kind) == ("forget", "person")
    assert edit.actor.startswith("cli:") and "person 1" in edit.after

    # Asker is still marked delivered; the mark no longer says by whom.
    assert ("data-deadline", "asker") in done_marks(services.db)
    # The rest of the registry answers as before.
    assert main(["ask", "--json", "who is Bodø's data contact?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "answer"
    assert [c["email"] for c in answer["contacts"]] == ["vesa.heikki.jantti@bodo.kommune.no"]
    assert main(["ask", "--json", "who is Asker's data contact?"]) == 0
    assert NAME not in capsys.readouterr().out

    # Erased once: a second run finds nobody and writes nothing.
    assert main(["person", "forget", ADDRESS, "--yes"]) == 2
    assert "no person" in capsys.readouterr().err


def test_unknown_or_ambiguous_person_exits_2_and_writes_nothing(
    smtp: SmtpTestServer, db_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    services = db_services
    data = services.registry.snapshot()
    import dataclasses

    geir = data.person_by_key[KEY]
    twin = dataclasses.replace(geir, key="geir-graff-2", roles=())
    services.registry.replace(dataclasses.replace(data, people=(*data.people, twin)))
    generation = _generation(services)

    for reference in (NAME, ADDRESS.upper()):
        assert main(["person", "forget", reference, "--yes"]) == 2
        err = capsys.readouterr().err
        assert "names several people" in err and "geir-graff-2" in err, err
    assert main(["person", "forget", "Geir Grafff", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "no person “Geir Grafff”" in err and "Did you mean:" in err and KEY in err
    assert _generation(services) == generation
    services.registry.invalidate()
    assert KEY in services.registry.snapshot().person_by_key

    # By key it is one person; their shared address stays with the other one.
    assert main(["person", "forget", KEY, "--yes"]) == 0
    services.registry.invalidate()
    people = services.registry.snapshot().person_by_key
    assert KEY not in people and people["geir-graff-2"].email == ADDRESS


# --- retention -----------------------------------------------------------------------------------


def _bodies(services: Services) -> dict[int, tuple[str, bytes, str]]:
    with services.db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        return {r.id: (r.status, r.body, r.address) for r in rows}


def test_retention_purges_final_bodies_on_a_moved_clock(
    smtp: SmtpTestServer,
    db_services: Services,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["broadcast", "--audience", "batch1", "--channel", "email", "--text", "Status"]
    assert main(argv) == 0
    access.record_chat_user(
        db_services.db,
        telegram_user_id=CHAT_ID,
        display_name=NAME,
        username=None,
        private_chat_id=CHAT_ID,
        now=db_services.clock.now(),
    )
    access.link_person(db_services.db, CHAT_ID, KEY, by=COORDINATOR)
    argv = ["broadcast", "--audience", "batch1", "--channel", "telegram", "--text", "Møte"]
    assert main(argv) in (0, 3)  # held: no Telegram token
    capsys.readouterr()
    before = _bodies(db_services)
    sent = {i for i, (status, _b, _a) in before.items() if status == SENT}
    waiting = set(before) - sent
    assert sent and waiting
    assert all(body and address for _s, body, address in before.values())

    # 2020-01-15 + 89 days: nothing is old enough yet.
    assert main(["outbox", "purge", "--now", "2020-04-13T09:00"]) == 0
    assert "Purged 0 message(s)" in capsys.readouterr().out
    assert _bodies(db_services) == before
    assert main(["outbox", "purge", "--now", "2020-04-15T09:00", "--dry-run"]) == 0
    assert f"Would purge {len(sent)} message(s)" in capsys.readouterr().out
    assert _bodies(db_services) == before

    assert main(["outbox", "purge", "--now", "2020-04-15T09:00"]) == 0
    assert f"Purged {len(sent)} message(s)" in capsys.readouterr().out
    after = _bodies(db_services)
    assert {i: (s, b, a) for i, (s, b, a) in after.items() if i in sent} == {
        i: (SENT, b"", "") for i in sent
    }
    # Messages still to be sent are never purged, however old.
    assert {i: after[i] for i in waiting} == {i: before[i] for i in waiting}
    assert _status_counts(db_services)[SENT] == len(sent)

    # retention_days = 0 keeps everything.
    monkeypatch.setenv("COORDBOT_DELIVERY_RETENTION_DAYS", "0")
    assert main(["outbox", "purge", "--now", "2030-01-01T00:00"]) == 0
    assert "kept forever" in capsys.readouterr().out


def test_coordbot_run_purges_hourly_by_its_clock(
    smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["broadcast", "--audience", "batch1", "--channel", "email", "--text", "x"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("COORDBOT_DELIVERY_RETENTION_DAYS", "30")
    from bot.clock import FixedClock

    clock = FixedClock(datetime(2020, 1, 15, 9, 0, tzinfo=UTC))
    services = build_services(load_config(), clock)
    try:
        component = DeliveryComponent(services, telegram=None)
        assert component.purge_if_due() == 0  # nothing is 30 days old; next purge at 10:00
        # The messages went out at 08:00 UTC on 15 January: 30 days old on 14 February 08:00.
        clock.set(datetime(2020, 2, 14, 7, 30, tzinfo=UTC))
        assert component.purge_if_due() == 0  # not old enough yet; next purge at 08:30
        clock.set(datetime(2020, 2, 14, 8, 10, tzinfo=UTC))
        assert component.purge_if_due() == 0  # old enough, but within the hour
        clock.set(datetime(2020, 2, 14, 8, 31, tzinfo=UTC))
        purged = component.purge_if_due()
        assert purged == _status_counts(services)[SENT] > 0
        assert all(body == b"" for _s, body, _a in _bodies(services).values())
    finally:
        services.close()
