"""Invites end to end: to a real aiosmtpd server, through the ledger, with updates and cancels."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.calendar.dispatch import InviteError, prepare_invites, send_invites
from bot.calendar.records import CalendarInvite
from bot.clock import FixedClock
from bot.config import load_config
from bot.mail import SmtpMailer
from bot.services import Services, build_services
from tests.calendar_checks import check_imip, parse_both
from tests.smtp_server import SmtpTestServer, smtp_env

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

SENDER = "coordbot@u4ssc-norge.example.org"
STEERING = {"sg.office@oier.pro", "kristian.mjoen@trondheim.kommune.no"}


class _NoSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def mailing(
    smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> Iterator[Services]:
    """Services whose [email] points at the loopback SMTP server."""
    smtp_env(smtp_server, monkeypatch)
    built = build_services(load_config(), clock)
    yield built
    built.close()


def _ledger(services: Services) -> list[tuple[str, str, int, str, str]]:
    with services.db.session() as session:
        rows = session.scalars(select(CalendarInvite).order_by(CalendarInvite.id))
        return [(r.event_key, r.recipient, r.sequence, r.method, r.status) for r in rows]


def _move(services: Services, clock: FixedClock, key: str, **changes: object) -> None:
    data = services.registry.snapshot()
    events = tuple(
        dataclasses.replace(e, **changes) if e.key == key else e  # type: ignore[arg-type]
        for e in data.events
    )
    clock.advance(timedelta(days=1))
    services.registry.replace(dataclasses.replace(data, events=events))


async def test_audience_invites_one_message_each_then_update_then_cancel(
    mailing: Services, smtp_server: SmtpTestServer, clock: FixedClock
) -> None:
    batch = prepare_invites(mailing, "steering-group-meeting", audience="steering group")
    outcomes = await send_invites(mailing, batch, mailing.mailer)
    sent = {o.address for o in outcomes if o.status == "sent"}
    assert sent == STEERING
    skipped = {o.name for o in outcomes if o.status == "skipped"}
    assert skipped == {"Lars Bjerke", "Bente Rudrud Herdlever"}  # no address in the registry
    received = smtp_server.messages
    assert smtp_server.connections == 1
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(STEERING)
    assert all(len(m.rcpt_tos) == 1 for m in received)  # one message per person, no BCC
    for m in received:
        check_imip(
            m.parsed(),
            method="REQUEST",
            event_key="steering-group-meeting",
            sequence=0,
            attendee=m.rcpt_tos[0],
            organizer=SENDER,
        )
        assert m.mail_from == SENDER

    # A re-run sends nothing: the ledger has both at SEQUENCE 0.
    again = await send_invites(
        mailing,
        prepare_invites(mailing, "steering-group-meeting", audience="steering-group"),
        mailing.mailer,
    )
    assert {o.status for o in again if o.address} == {"already-sent"}
    assert len(smtp_server.messages) == 2

    # The meeting moves: the same command sends an update with a higher SEQUENCE.
    _move(mailing, clock, "steering-group-meeting", location="Molde")
    updates = await send_invites(
        mailing,
        prepare_invites(mailing, "steering-group-meeting", audience="steering-group"),
        mailing.mailer,
    )
    assert {o.address for o in updates if o.status == "sent"} == STEERING
    for m in smtp_server.messages[2:]:
        message = m.parsed()
        vevent = check_imip(
            message,
            method="REQUEST",
            event_key="steering-group-meeting",
            sequence=1,
            attendee=m.rcpt_tos[0],
            organizer=SENDER,
        )
        assert str(vevent["LOCATION"]) == "Molde"
        # Subjects decode exactly (no doubled space at a fold); in the reader's language.
        assert str(message["Subject"]).startswith("Oppdatert invitasjon: Første ordinære ")
        assert "  " not in str(message["Subject"])

    # Cancelled with --cancel: the registry records it, CANCEL goes out with SEQUENCE 2.
    cancel = prepare_invites(
        mailing, "steering-group-meeting", audience="steering-group", cancel=True
    )
    assert cancel.cancel_in_registry and cancel.sequence == 2
    done = await send_invites(mailing, cancel, mailing.mailer)
    assert {o.address for o in done if o.status == "sent"} == STEERING
    for m in smtp_server.messages[4:]:
        check_imip(
            m.parsed(),
            method="CANCEL",
            event_key="steering-group-meeting",
            sequence=2,
            attendee=m.rcpt_tos[0],
            organizer=SENDER,
        )
    ev = mailing.registry.snapshot().event_by_key["steering-group-meeting"]
    assert ev.cancelled and ev.sequence == 2
    from bot.calendar.api import feed_bytes

    feed, _ = parse_both(feed_bytes(mailing, "audience-steering-group"))
    assert str(feed.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert {(seq, method) for _k, _r, seq, method, _s in _ledger(mailing)} == {
        (0, "REQUEST"),
        (1, "REQUEST"),
        (2, "CANCEL"),
    }
    with pytest.raises(InviteError, match="cancelled in the registry"):
        prepare_invites(mailing, "steering-group-meeting", audience="steering-group")


async def test_defective_and_refused_addresses_are_reported_not_fatal(
    mailing: Services, smtp_server: SmtpTestServer
) -> None:
    # Refused once for good (550): the mailbox is fixed before the next run.
    smtp_server.refuse("geir.graff@asker.kommune.no", 550, "5.1.1 mailbox unavailable", times=1)
    smtp_server.refuse("gro.saeten@rana.kommune.no", 451, "4.7.1 greylisted", times=1)
    sleep = _NoSleep()
    batch = prepare_invites(mailing, "data-deadline", audience="batch1")
    outcomes = await send_invites(mailing, batch, mailing.mailer, sleep=sleep)
    by_address = {o.address: o for o in outcomes if o.address}
    # Addresses `registry check` calls errors are not tried: they would bounce.
    randi = by_address["randi. myhre@molde.kommune.no"]
    assert randi.status == "skipped" and randi.reason.startswith("address defective: ")
    assert "contains a space" in randi.reason
    karmoy = by_address["ban03@karoy.kommune.no"]
    assert karmoy.status == "skipped" and "did you mean 'karmoy.kommune.no'" in karmoy.reason
    haugesund = by_address["jo.inge.hagland@haugesund.kommiune.no"]
    assert haugesund.status == "skipped" and "misspelling" in haugesund.reason
    assert by_address["gro.saeten@rana.kommune.no"].status == "sent"  # retried after the 451
    assert sleep.delays == [2.0]
    assert by_address["geir.graff@asker.kommune.no"].status == "failed"
    sent = [o for o in outcomes if o.status == "sent"]
    assert len(sent) == 6 and len(smtp_server.messages) == 6
    assert all(not m.rcpt_tos[0].startswith("randi") for m in smtp_server.messages)
    failed = {r for _k, r, _q, _m, s in _ledger(mailing) if s == "failed"}
    assert failed == {"geir.graff@asker.kommune.no"}

    # A later run tries the failed one again and leaves the delivered ones alone: Asker's
    # server takes it now; the defective addresses are still refused before any SMTP.
    smtp_server.clear()
    retry = await send_invites(
        mailing,
        prepare_invites(mailing, "data-deadline", audience="batch1"),
        mailing.mailer,
        sleep=sleep,
    )
    assert [m.rcpt_tos for m in smtp_server.messages] == [["geir.graff@asker.kommune.no"]]
    by_address = {o.address: o.status for o in retry if o.address}
    assert by_address["geir.graff@asker.kommune.no"] == "sent"
    assert by_address["randi. myhre@molde.kommune.no"] == "skipped"
    assert sum(o.status == "already-sent" for o in retry) == 6
    assert {r for _k, r, _q, _m, s in _ledger(mailing) if s == "failed"} == set()


async def test_single_recipient_and_unknown_inputs(
    mailing: Services, smtp_server: SmtpTestServer
) -> None:
    batch = prepare_invites(
        mailing, "county-meeting", to="Bente.Kristin.Malmo@unitedsmartcities.org"
    )
    assert batch.ready[0][0].name == "Bente Kristin Malmo"  # named from the registry
    await send_invites(mailing, batch, mailing.mailer)
    assert smtp_server.messages[0].rcpt_tos == ["Bente.Kristin.Malmo@unitedsmartcities.org"]
    with pytest.raises(InviteError, match="no event"):
        prepare_invites(mailing, "no-such-meeting", to="a@example.org")
    with pytest.raises(InviteError, match="no audience"):
        prepare_invites(mailing, "county-meeting", audience="Kristiansand")


async def test_unreachable_server_leaves_invites_to_retry(
    services: Services, smtp_server: SmtpTestServer
) -> None:
    smtp_server.drop_connection("MAIL", times=10)
    sleep = _NoSleep()
    batch = prepare_invites(services, "county-meeting", to="a@example.org")
    config = dataclasses.replace(
        services.config.email,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        security="none",
        from_address="coordbot@example.org",
    )
    outcomes = await send_invites(services, batch, SmtpMailer(config), sleep=sleep)
    assert outcomes[0].status == "failed" and not outcomes[0].permanent
    assert len(sleep.delays) == services.config.email.max_retries
    assert _ledger(services)[0][4] == "failed"
    # Nothing was recorded as sent, so the next run sends it.
    again = prepare_invites(services, "county-meeting", to="a@example.org")
    assert [o.status for o in again.outcomes] == ["ready"]
