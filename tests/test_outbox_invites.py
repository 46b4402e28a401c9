"""Invites go through the outbox too: `send_invites` writes, claims and settles outbox rows;
what its retries could not deliver is left for the delivery worker, and nothing goes twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.calendar.dispatch import prepare_invites, send_invites
from bot.clock import FixedClock
from bot.config import load_config
from bot.delivery.broadcast import deliver_until_finished
from bot.delivery.component import build_workers
from bot.delivery.direct import INVITE_SOURCE, invite_message
from bot.delivery.outbox import ClaimOwner, Outbox
from bot.delivery.pacing import VirtualPacer
from bot.services import Services, build_services
from tests.smtp_server import SmtpTestServer, smtp_env

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


async def _no_sleep(_delay: float) -> None:
    return None


@pytest.fixture
def mailing(
    smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> Iterator[Services]:
    smtp_env(smtp_server, monkeypatch)
    built = build_services(load_config(), clock)
    yield built
    built.close()


def _source(services: Services, key: str) -> tuple[str, str]:
    sequence = services.registry.snapshot().event_by_key[key].sequence
    return (INVITE_SOURCE, f"{key}|{sequence}|REQUEST")


async def test_invites_are_outbox_rows_sent_once(
    mailing: Services, smtp_server: SmtpTestServer
) -> None:
    batch = prepare_invites(mailing, "steering-group-meeting", audience="steering-group")
    outcomes = await send_invites(mailing, batch, mailing.mailer)
    assert sorted(o.status for o in outcomes if o.address) == ["sent", "sent"]
    rows = mailing.outbox.rows(_source(mailing, "steering-group-meeting"))
    assert {r.status for r in rows} == {"sent"} and len(rows) == 2
    stored = {r.address: r.body for r in rows}
    for received in smtp_server.messages:
        (address,) = received.rcpt_tos
        assert received.parsed()["Message-ID"] in stored[address].decode()


async def test_an_outage_leaves_the_invite_to_the_worker_and_a_rerun_sends_nothing_twice(
    mailing: Services, smtp_server: SmtpTestServer, clock: FixedClock
) -> None:
    smtp_server.drop_connection("MAIL", times=mailing.config.email.max_retries + 1)
    batch = prepare_invites(mailing, "county-meeting", to="someone@example.org")
    [outcome] = await send_invites(mailing, batch, mailing.mailer, sleep=_no_sleep)
    assert outcome.status == "failed" and not outcome.permanent
    [row] = mailing.outbox.rows(_source(mailing, "county-meeting"))
    assert row.status == "pending"  # kept for `coordbot run`

    # The delivery worker (as in `coordbot run`) sends it once the server is back.
    workers = build_workers(
        mailing, telegram=None, mailer=mailing.mailer, pacer=VirtualPacer(clock)
    )
    await deliver_until_finished(
        workers, mailing.outbox, clock, _source(mailing, "county-meeting"), give_up_after=3600
    )
    assert [m.rcpt_tos for m in smtp_server.messages] == [["someone@example.org"]]

    # Running the invite again (the ledger still says failed) does not send a second copy.
    again = prepare_invites(mailing, "county-meeting", to="someone@example.org")
    [second] = await send_invites(mailing, again, mailing.mailer, sleep=_no_sleep)
    assert second.status == "sent" and second.reason == "already sent from the outbox"
    assert len(smtp_server.messages) == 1


async def test_an_invite_in_flight_elsewhere_is_not_sent_again(
    mailing: Services, smtp_server: SmtpTestServer
) -> None:
    batch = prepare_invites(mailing, "county-meeting", to="someone@example.org")
    ((invitee, message),) = batch.ready
    # Another process has the row claimed (for instance the worker of `coordbot run`).
    row = invite_message(
        "county-meeting", batch.sequence, "REQUEST", invitee.address, None, message
    )
    other = Outbox(
        mailing.db, mailing.clock, mailing.config.delivery, ClaimOwner("elsewhere", 1, "x")
    )
    other.enqueue([row])
    assert other.claim_keys([row.key])
    [outcome] = await send_invites(mailing, batch, mailing.mailer, sleep=_no_sleep)
    assert outcome.status == "failed" and outcome.reason == "being sent by another process"
    assert smtp_server.messages == []
