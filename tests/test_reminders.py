"""Reminder rules and plan from the seeded registry, firing into the outbox on an injected
clock, catch-up after downtime, deadline marks, and a moved deadline moving its reminders."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.config import Config, ConfigError, RemindersConfig
from bot.registry.data import RegistryData
from bot.registry.marks import MarkError, mark_done, resolve_target, unmark_done
from bot.services import Services, build_services
from bot.subscriptions import Subscriptions
from schedules.fire import cancel_stale_reminders, current_plan, enqueue_due_reminders
from schedules.plan import due_now, plan_reminders
from schedules.rules import parse_lead, rules_from_config
from schedules.scheduler import ReminderScheduler
from tests.mail_checks import UNSUBSCRIBE_HEADER, raw_header

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

OSLO = ZoneInfo("Europe/Oslo")


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour, minute), OSLO)


def _move(data: RegistryData, key: str, start: date | datetime) -> RegistryData:
    events = tuple(replace(e, start=start) if e.key == key else e for e in data.events)
    return replace(data, events=events)


def test_lead_times_parse_and_refuse_with_reasons() -> None:
    assert parse_lead("14d").days == 14
    assert parse_lead("0d").label() == "the day itself"
    assert parse_lead("1d@16:30").at == time(16, 30)
    assert parse_lead("2h").before == timedelta(hours=2)
    assert parse_lead("30m").label("nb") == "30 minutter før"
    for bad in ("14", "d", "1.5d", "2h@08:00", "1d@25:00", "-3d"):
        with pytest.raises(ConfigError):
            parse_lead(bad)
    with pytest.raises(ConfigError, match="steering-group:meeting"):
        rules_from_config(RemindersConfig(audience_lead_times=("steering-group=1d",)))


def test_seed_plan_for_the_data_deadline(services: Services, clock: FixedClock) -> None:
    plan = [r for r in current_plan(services, clock.now()) if r.event.key == "data-deadline"]
    assert [(r.lead.text, r.due) for r in plan] == [
        ("14d", at("2020-01-17")),
        ("3d", at("2020-01-28")),
        ("1d", at("2020-01-30")),
        ("0d", at("2020-01-31")),
    ]
    targets = {(t.person.name, t.municipality) for t in plan[0].targets}
    # The data contact of each municipality of batch one that has one in the registry.
    assert ("Randi Myhre", "molde") in targets
    assert ("Geir Graff", "asker") in targets
    data = services.registry.snapshot()
    staffed = {
        m
        for m in data.audience_by_key["batch1"].municipalities
        if any(r.municipality == m for p in data.people for r in p.roles)
    }
    assert {m for _n, m in targets} == staffed and "narvik" not in staffed


def test_meetings_timed_events_and_audience_overrides(
    services: Services, clock: FixedClock
) -> None:
    data = _move(services.registry.snapshot(), "network-meeting", at("2020-02-21", 10, 0))
    rules = rules_from_config(
        RemindersConfig(audience_lead_times=("network:meeting=7d 2h", "counties:meeting="))
    )
    plan = plan_reminders(data, rules, clock.now())
    network = [(r.lead.text, r.due) for r in plan if r.event.key == "network-meeting"]
    assert network == [("7d", at("2020-02-14")), ("2h", at("2020-02-21", 8, 0))]
    assert not [r for r in plan if r.event.key == "county-meeting"]
    info = [r for r in plan if r.event.key == "batch2-info-meeting"]
    assert [r.lead.text for r in info] == ["7d", "1d"] and info[0].targets == ()


def test_marked_municipalities_are_not_reminded(services: Services, clock: FixedClock) -> None:
    data = services.registry.snapshot()
    target = resolve_target(data, "data-deadline", "Molde")
    assert mark_done(services.db, target, by="test", now=clock.now())
    assert not mark_done(services.db, target, by="test", now=clock.now())
    plan = [r for r in current_plan(services, clock.now()) if r.event.key == "data-deadline"]
    assert "molde" not in {t.municipality for t in plan[0].targets}
    assert unmark_done(services.db, target)
    plan = [r for r in current_plan(services, clock.now()) if r.event.key == "data-deadline"]
    assert "molde" in {t.municipality for t in plan[0].targets}
    with pytest.raises(MarkError, match="not a deadline"):
        resolve_target(data, "network-meeting", "Asker")
    with pytest.raises(MarkError, match="not among"):
        resolve_target(data, "data-deadline", "Ålesund")
    with pytest.raises(MarkError, match="no municipality"):
        resolve_target(data, "data-deadline", "Kristiansand")


def test_a_fired_reminder_is_queued_once(services: Services, clock: FixedClock) -> None:
    clock.set(at("2020-01-17"))
    fired = [f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"]
    assert len(fired) == 1 and not fired[0].late
    rows = services.outbox.rows(("reminder", fired[0].reminder.source_id))
    by_name = {r.recipient_name: r for r in rows}
    # E-mail only: nobody has linked Telegram. Randi Myhre's address has a space in it.
    assert {r.channel for r in rows} == {"email"}
    assert "Geir Graff" in by_name and "Randi Myhre" not in by_name
    skipped = {(s.name, s.channel): s.reason for s in fired[0].reach.skipped}
    assert "contains a space" in skipped[("Randi Myhre", "email")]
    assert skipped[("Geir Graff", "telegram")] == "not linked to a Telegram chat"
    mail = by_name["Geir Graff"].body.decode()
    subject = email.message_from_string(mail, policy=email.policy.default)["Subject"]
    # Geir Graff reads bokmål (his `language` in the registry).
    assert subject == "Påminnelse: Frist: alle relevante KPI-data samlet inn (2020-01-31)"
    raw = by_name["Geir Graff"].body
    assert raw_header(raw, "Auto-Submitted") == b"auto-generated"
    assert raw_header(raw, "List-Unsubscribe-Post") == b"List-Unsubscribe=One-Click"

    clock.advance(timedelta(minutes=3))
    again = [f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"]
    assert again[0].added == 0
    assert len(services.outbox.rows(("reminder", fired[0].reminder.source_id))) == len(rows)


def test_reminder_list_unsubscribe_is_a_plain_url_as_queued(
    services: Services, clock: FixedClock
) -> None:
    clock.set(at("2020-01-17"))
    fired = [f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"]
    rows = services.outbox.rows(("reminder", fired[0].reminder.source_id))
    subscriptions = Subscriptions(services.db, services.clock, services.config)
    assert rows
    for row in rows:
        match = UNSUBSCRIBE_HEADER.fullmatch(raw_header(row.body, "List-Unsubscribe"))
        assert match is not None, raw_header(row.body, "List-Unsubscribe")
        token = parse_qs(urlsplit(match.group(1).decode()).query)["token"][0]
        assert subscriptions.read_token(token).subscriber == row.recipient


def test_catch_up_after_downtime_sends_the_latest_missed_reminder_late(
    services: Services, clock: FixedClock
) -> None:
    # Down from 16 January until 29 January 09:00: the 14-day and 3-day reminders were missed.
    plan = current_plan(services, at("2020-01-29", 9))
    missed = [r for r in due_now(plan, at("2020-01-29", 9)) if r.event.key == "data-deadline"]
    assert [r.lead.text for r in missed] == ["3d"]
    clock.set(at("2020-01-29", 9))
    fired = [f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"]
    assert fired[0].late and fired[0].added > 0
    assert all(r.late for r in services.outbox.rows(("reminder", fired[0].reminder.source_id)))
    # After the deadline's day nothing is sent any more, late or not.
    clock.set(at("2020-02-01", 0, 1))
    assert not [
        f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"
    ]


def test_a_moved_deadline_moves_its_reminders_and_cancels_queued_ones(
    services: Services, clock: FixedClock
) -> None:
    clock.set(at("2020-01-28"))
    (fired,) = [
        f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"
    ]
    assert fired.reminder.lead.text == "3d"
    queued = services.outbox.progress(("reminder", fired.reminder.source_id)).counts
    assert queued.get("pending")

    # The deadline moves a week later before the queued 3-day reminder went out.
    services.registry.replace(
        _move(services.registry.snapshot(), "data-deadline", date(2020, 2, 7))
    )
    plan = current_plan(services, clock.now())
    dues = [(r.lead.text, r.due) for r in plan if r.event.key == "data-deadline"]
    assert dues == [
        ("14d", at("2020-01-24")),
        ("3d", at("2020-02-04")),
        ("1d", at("2020-02-06")),
        ("0d", at("2020-02-07")),
    ]
    assert cancel_stale_reminders(services, plan) == queued["pending"]
    assert services.outbox.progress(("reminder", fired.reminder.source_id)).counts == {
        "cancelled": queued["pending"]
    }


async def test_scheduler_jobs_follow_the_registry(services: Services, clock: FixedClock) -> None:
    scheduler = ReminderScheduler(services)
    await scheduler.start()
    try:
        assert str(scheduler.scheduler.timezone) == "Europe/Oslo"
        jobs = scheduler.job_times()
        assert at("2020-01-17") in jobs and at("2020-01-28") in jobs
        assert all(j > clock.now() for j in jobs)

        services.registry.replace(
            _move(services.registry.snapshot(), "data-deadline", date(2020, 2, 7))
        )
        await scheduler.registry_changed()
        jobs = scheduler.job_times()
        assert at("2020-01-17") not in jobs and at("2020-01-24") in jobs

        # The job for 24 January fires when the clock gets there.
        clock.set(at("2020-01-24"))
        assert await scheduler.fire_due() > 0
        assert await scheduler.fire_due() == 0
    finally:
        await scheduler.stop()


async def test_a_change_made_by_another_process_is_noticed(
    services: Services, config: Config, clock: FixedClock
) -> None:
    scheduler = ReminderScheduler(services)
    await scheduler.start()
    try:
        assert not await scheduler.check_registry()
        # Another process (`coordbot registry import`) moves the deadline.
        other = build_services(config, FixedClock(clock.now()))
        try:
            other.registry.replace(
                _move(other.registry.snapshot(), "data-deadline", date(2020, 2, 7))
            )
        finally:
            other.close()
        assert at("2020-01-17") in scheduler.job_times()  # not seen yet: this process's cache
        assert await scheduler.check_registry()
        assert at("2020-01-24") in scheduler.job_times()
        assert at("2020-01-17") not in scheduler.job_times()
    finally:
        await scheduler.stop()
