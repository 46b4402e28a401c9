"""The outbox: idempotent enqueue, claims, outcomes, backoff and recovery after a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.access import ChatUser
from bot.clock import FixedClock
from bot.delivery.models import OutboxMessage
from bot.delivery.outbox import ClaimOwner, NewMessage, Outbox, Outcome, idempotency_key
from bot.services import Services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _message(recipient: str, source_id: str = "1", channel: str = "telegram") -> NewMessage:
    return NewMessage(
        source_kind="broadcast",
        source_id=source_id,
        channel=channel,
        recipient=recipient,
        address="42" if channel == "telegram" else f"{recipient}@example.org",
        body=f"hello {recipient}".encode(),
    )


def _outbox(services: Services, owner: ClaimOwner | None = None) -> Outbox:
    outbox = Outbox(services.db, services.clock, services.config.delivery, owner)
    outbox.jitter = lambda: 0.0  # exact delays here; test_delivery_lifetime covers jitter
    return outbox


def test_idempotency_key_is_stable_and_distinguishes_every_part() -> None:
    key = idempotency_key("reminder", "ev|14d|2020-01-17", "p1", "email")
    assert key == idempotency_key("reminder", "ev|14d|2020-01-17", "p1", "email")
    others = {
        idempotency_key("broadcast", "ev|14d|2020-01-17", "p1", "email"),
        idempotency_key("reminder", "ev|3d|2020-01-17", "p1", "email"),
        idempotency_key("reminder", "ev|14d|2020-01-17", "p2", "email"),
        idempotency_key("reminder", "ev|14d|2020-01-17", "p1", "telegram"),
    }
    assert key not in others and len(others) == 4


def test_enqueue_twice_makes_one_row_per_key(services: Services) -> None:
    outbox = _outbox(services)
    batch = [_message("a"), _message("b"), _message("a", channel="email")]
    assert outbox.enqueue(batch) == 3
    assert outbox.enqueue(batch) == 0
    assert outbox.enqueue([*batch, _message("c")]) == 1
    assert outbox.progress(("broadcast", "1")).counts == {"pending": 4}


def test_claim_takes_due_rows_once_and_settle_records_outcomes(
    services: Services, clock: FixedClock
) -> None:
    outbox = _outbox(services)
    outbox.enqueue([_message(r) for r in "abcd"])
    first = outbox.claim("telegram", 3)
    assert [c.recipient for c in first] == ["a", "b", "c"]
    assert all(c.attempts == 1 for c in first)
    second = outbox.claim("telegram", 10)
    assert [c.recipient for c in second] == ["d"]
    assert outbox.claim("telegram", 10) == []

    a, b, c = first
    outbox.settle(
        [
            Outcome(a.id, "sent"),
            Outcome(b.id, "retry", "502 Bad Gateway"),
            Outcome(c.id, "failed", "Forbidden: bot was blocked by the user", unreachable=True),
            Outcome(second[0].id, "cancelled", "unsubscribed"),
        ]
    )
    rows = {r.recipient: r for r in outbox.rows(("broadcast", "1"))}
    assert rows["a"].status == "sent" and rows["a"].sent_at == clock.now()
    assert rows["b"].status == "pending" and rows["b"].last_error == "502 Bad Gateway"
    assert rows["b"].next_attempt_at == clock.now() + timedelta(seconds=5)
    assert rows["c"].status == "failed" and rows["c"].unreachable
    assert rows["d"].status == "cancelled" and rows["d"].last_error == "unsubscribed"

    # Not due before its backoff has passed; due after.
    assert outbox.claim("telegram", 10) == []
    assert outbox.next_due("telegram") == clock.now() + timedelta(seconds=5)
    clock.advance(timedelta(seconds=5))
    (again,) = outbox.claim("telegram", 10)
    assert again.recipient == "b" and again.attempts == 2


def test_backoff_doubles_up_to_the_cap_and_gives_up_after_the_lifetime(
    services: Services, clock: FixedClock
) -> None:
    outbox = _outbox(services)
    assert [outbox.backoff(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert outbox.backoff(30) == services.config.delivery.backoff_max_seconds == 1800.0
    outbox.enqueue([_message("a")])
    # A temporary failure every hour for just under two days: still queued.
    for _ in range(47):
        (row,) = outbox.claim("telegram", 1)
        outbox.settle([Outcome(row.id, "retry", "timed out")])
        clock.advance(timedelta(hours=1))
    (still,) = outbox.rows(("broadcast", "1"))
    assert still.status == "pending" and still.attempts == 47
    clock.advance(timedelta(hours=1))
    (row,) = outbox.claim("telegram", 1)
    outbox.settle([Outcome(row.id, "retry", "timed out")])
    (final,) = outbox.rows(("broadcast", "1"))
    assert final.status == "failed"
    assert final.last_error == "gave up after 48 attempts in 2.0 days: timed out"


def test_flood_wait_does_not_use_up_attempts(services: Services, clock: FixedClock) -> None:
    outbox = _outbox(services)
    outbox.enqueue([_message("a")])
    for _ in range(20):
        (row,) = outbox.claim("telegram", 1)
        outbox.settle([Outcome(row.id, "retry", "flood", delay=3, counts=False)])
        clock.advance(timedelta(seconds=3))
    (final,) = outbox.rows(("broadcast", "1"))
    assert final.status == "pending" and final.attempts == 0


def test_blocked_chat_marks_the_chat_user_unreachable(
    services: Services, clock: FixedClock
) -> None:
    with services.db.session() as session:
        session.add(
            ChatUser(
                telegram_user_id=42,
                chat_id=42,
                display_name="Test",
                created_at=clock.now(),
                last_seen_at=clock.now(),
            )
        )
    outbox = _outbox(services)
    outbox.enqueue([_message("a")])
    (row,) = outbox.claim("telegram", 1)
    outbox.settle([Outcome(row.id, "failed", "blocked", unreachable=True)])
    with services.db.session() as session:
        user = session.query(ChatUser).one()
        assert user.blocked_at == clock.now()


def test_rows_of_a_dead_process_are_released_but_live_claims_are_not(
    services: Services, clock: FixedClock
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_owner = ClaimOwner(ClaimOwner.current().host, int(dead.stdout), "old")
    ours = _outbox(services)
    theirs = _outbox(services, dead_owner)
    # A process on another host: whether it lives cannot be told, so only its lease counts.
    alive = _outbox(services, ClaimOwner("elsewhere", 1, "x"))
    ours.enqueue([_message(r) for r in "abc"])
    theirs.claim("telegram", 2)
    (live,) = alive.claim("telegram", 1)
    assert ours.release_interrupted() == 2
    statuses = {r.recipient: r.status for r in ours.rows(("broadcast", "1"))}
    assert statuses == {"a": "pending", "b": "pending", "c": "sending"}
    assert live.recipient == "c"

    # A live claim is released once its lease has run out.
    clock.advance(timedelta(seconds=services.config.delivery.lease_seconds))
    assert ours.release_interrupted() == 1


def test_claims_from_one_source_only(services: Services) -> None:
    outbox = _outbox(services)
    outbox.enqueue([_message("a", "1"), _message("b", "2")])
    (row,) = outbox.claim("telegram", 10, ("broadcast", "2"))
    assert row.recipient == "b"
    with services.db.session() as session:
        assert session.query(OutboxMessage).filter_by(status="pending").count() == 1


_CLAIMER = """
import json, sys
from bot.clock import SystemClock
from bot.config import load_config
from bot.db import Database
from bot.delivery.outbox import Outbox

config = load_config()
outbox = Outbox(Database(config.bot.database_url), SystemClock(), config.delivery)
outbox.claim("email", 1)  # connected and warm before the start (there are no e-mail rows)
print("ready", flush=True)
sys.stdin.readline()  # "go": both processes start claiming at the same moment
claimed = []
while batch := outbox.claim("telegram", 5):
    claimed.extend(row.id for row in batch)
print(json.dumps(claimed), flush=True)
"""


def test_two_processes_claiming_at_once_never_take_a_row_twice(services: Services) -> None:
    """Two processes (separate engines and connections) race for 600 rows; on PostgreSQL this
    is FOR UPDATE SKIP LOCKED at work, on SQLite the database's write lock."""
    outbox = _outbox(services)
    assert outbox.enqueue([_message(f"r{n}") for n in range(600)]) == 600
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for claimer in claimers:
            assert claimer.stdout is not None and claimer.stdout.readline() == "ready\n"
        for claimer in claimers:
            assert claimer.stdin is not None
            claimer.stdin.write("go\n")
            claimer.stdin.flush()
        results = [json.loads(claimer.communicate(timeout=120)[0]) for claimer in claimers]
    finally:
        for claimer in claimers:
            if claimer.poll() is None:
                claimer.kill()
                claimer.wait()
    assert all(claimer.returncode == 0 for claimer in claimers)
    first, second = (set(ids) for ids in results)
    assert len(first) == len(results[0]) and len(second) == len(results[1])
    assert not first & second, f"claimed twice: {sorted(first & second)[:10]}"
    with services.db.session() as session:
        every = {row_id for (row_id,) in session.query(OutboxMessage.id)}
        statuses = {status for (status,) in session.query(OutboxMessage.status)}
    assert first | second == every and statuses == {"sending"}
    # Both really took part: the claims interleaved rather than one process taking all.
    assert first and second
