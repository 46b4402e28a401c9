"""The right people: an audience defined by a role (the network: its representatives and
leaders) reaches the holders of that role and names those it cannot reach; every contact of
the member municipalities only when a coordinator widens it (`broadcast --widen`, or
`widen = true` on the audience), which the preview and the report say."""

from __future__ import annotations

import dataclasses

import pytest

from bot.cli import main
from bot.delivery.broadcast import (
    broadcast_report,
    check_request,
    format_report,
    queue_broadcast,
    reach_of,
    save_draft,
)
from bot.services import Services
from schedules.fire import current_plan

NETWORK_ROLES = {"network_representative", "network_leader", "network_deputy_leader"}


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _holders(services: Services) -> set[str]:
    data = services.registry.snapshot()
    return {p.key for p in data.people if any(r.role in NETWORK_ROLES for r in p.roles)}


def test_a_role_audience_reaches_the_role_holders_and_names_the_unreachable(
    services: Services,
) -> None:
    request = check_request(
        services, audience="network", channels="email", subject="Møte", text="Hei", created_by="t"
    )
    reach = reach_of(services, request)
    reached = {r.key for r in reach.recipients}
    skipped = {s.key: s.reason for s in reach.skipped}
    assert reached | set(skipped) == _holders(services)
    assert "gro-saeten" in reached and "geir-graff" not in reached | set(skipped)
    assert skipped["lars-bjerke"] == "no e-mail address in the registry"
    assert "not widened" in request.reach_note()


def test_widening_is_an_explicit_choice_shown_in_preview_and_report(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:

    args = ["broadcast", "--audience", "network", "--channel", "email", "--text", "Hei"]
    assert main([*args, "--dry-run"]) == 0
    narrow = capsys.readouterr().out
    assert "Reaching: holders of network_representative" in narrow
    assert "Geir Graff" not in narrow  # Asker's data contact is no representative
    assert main([*args, "--widen", "--dry-run"]) == 0
    wide = capsys.readouterr().out
    assert "Reaching: widened: every contact of its 6 municipalities" in wide
    assert "Geir Graff <geir.graff@asker.kommune.no>" in wide

    request = check_request(
        services,
        audience="network",
        channels="email",
        subject="Møte",
        text="Hei",
        created_by="t",
        widen=True,
    )
    broadcast = save_draft(services, request)
    queue_broadcast(services, broadcast)
    report = format_report(broadcast_report(services, broadcast))
    assert "reached: widened: every contact of its 6 municipalities" in report


def test_the_audience_can_be_widened_in_the_registry(services: Services) -> None:
    data = services.registry.snapshot()
    audiences = tuple(
        dataclasses.replace(a, widen=True) if a.key == "network" else a for a in data.audiences
    )
    wide = dataclasses.replace(data, audiences=audiences)
    assert "geir-graff" in {p.key for p in wide.audience_members("network")}
    assert "geir-graff" not in {p.key for p in data.audience_members("network")}
    assert "geir-graff" in {p.key for p in data.audience_members("network", widen=True)}
    # An audience without roles (a batch) is its municipalities' contacts, as before.
    assert "geir-graff" in {p.key for p in data.audience_members("batch1")}


def test_network_meeting_reminders_go_to_the_representatives(services: Services) -> None:
    plan = [r for r in current_plan(services, services.clock.now()) if r.audience == "network"]
    assert plan
    targets = {t.person.key for t in plan[0].targets}
    assert targets == _holders(services)


def test_profiles_back_is_a_milestone_not_a_deadline_for_data_contacts(
    services: Services,
) -> None:
    data = services.registry.snapshot()
    assert data.event_by_key["profiles-back"].kind == "milestone"
    reminders = [
        r for r in current_plan(services, services.clock.now()) if r.event.key == "profiles-back"
    ]
    # Milestones get no reminders by default: nobody is told "not yet reported done".
    assert reminders == []
