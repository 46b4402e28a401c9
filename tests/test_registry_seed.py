"""The seeded registry holds what the newsletter says."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services import Services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def test_all_twelve_municipalities_are_seeded(services: Services) -> None:
    names = {m.name for m in services.registry.snapshot().municipalities}
    assert names == {
        "Asker",
        "Bærum",
        "Trondheim",
        "Bodø",
        "Rana",
        "Stavanger",
        "Haugesund",
        "Narvik",
        "Karmøy",
        "Molde",
        "Kristiansund",
        "Ålesund",
    }


def test_people_hold_several_roles(services: Services) -> None:
    data = services.registry.snapshot()
    silja = data.person_by_key["silja-ronningsen"]
    assert {(r.role, r.municipality, r.organisation) for r in silja.roles} == {
        ("data_contact", "trondheim", None),
        ("business_partnership", None, "un-centre-trondheim"),
    }
    gro = data.person_by_key["gro-saeten"]
    assert {r.role for r in gro.roles} == {"data_contact", "network_representative"}


def test_defects_are_kept_as_printed(services: Services) -> None:
    data = services.registry.snapshot()
    assert data.person_by_key["randi-myhre"].email == "randi. myhre@molde.kommune.no"
    assert data.person_by_key["jo-inge-wang-hageland"].email.endswith("@haugesund.kommiune.no")
    assert data.holders("data_contact", municipality="narvik") == []


def test_dated_items_are_all_day_and_audienced(services: Services) -> None:
    data = services.registry.snapshot()
    feb21 = [e for e in data.events if e.start == date(2020, 2, 21)]
    assert len(feb21) == 3 and all(e.all_day and e.location == "Oslo" for e in feb21)
    steering = data.event_by_key["steering-group-meeting"]
    assert steering.start == date(2020, 4, 24) and steering.audiences == ("steering-group",)
    assert data.event_by_key["stavanger-declaration"].start == date(2019, 9, 26)
    assert data.event_by_key["u4ssc-decision"].start == date(2019, 10, 3)


def test_moving_an_event_raises_its_sequence(services: Services, clock) -> None:
    from dataclasses import replace
    from datetime import timedelta

    data = services.registry.snapshot()
    moved = replace(data.event_by_key["network-meeting"], start=date(2020, 2, 28))
    events = tuple(moved if e.key == moved.key else e for e in data.events)
    clock.advance(timedelta(hours=1))
    services.registry.replace(replace(data, events=events))
    after = services.registry.snapshot().event_by_key["network-meeting"]
    assert after.sequence == 1 and after.start == date(2020, 2, 28)
    assert after.updated_at == clock.now()
    untouched = services.registry.snapshot().event_by_key["county-meeting"]
    assert untouched.sequence == 0


def test_reseeding_is_skipped_and_existing_data_survives(services: Services, config, clock) -> None:
    from dataclasses import replace
    from datetime import timedelta

    from bot import access
    from bot.services import build_services

    # Data only the database has: an edited municipality, a linked chat user.
    data = services.registry.snapshot()
    renamed = replace(data.municipality_by_key["rana"], name="Rana kommune")
    clock.advance(timedelta(hours=1))
    services.registry.replace(
        replace(
            data,
            municipalities=tuple(renamed if m.key == "rana" else m for m in data.municipalities),
        )
    )
    access.record_chat_user(
        services.db,
        telegram_user_id=77,
        display_name="Geir",
        username=None,
        private_chat_id=77,
        now=clock.now(),
    )
    access.link_person(services.db, 77, "geir-graff", by=None)

    assert services.registry.ensure_seeded(services.config.data_file) is False
    restarted = build_services(config, clock)  # a restart seeds an empty registry only
    try:
        for registry in (services.registry, restarted.registry):
            registry.invalidate()
            after = registry.snapshot()
            assert after.municipality_by_key["rana"].name == "Rana kommune"
            assert "geir-graff" in after.person_by_key
        linked = access.find_chat_user_for_person(restarted.db, "geir-graff")
        assert linked is not None and linked.telegram_user_id == 77
    finally:
        restarted.close()


def test_snapshot_sees_a_write_by_another_process(services: Services, config, clock) -> None:
    """A running bot picks up `coordbot registry import` done by another process."""
    from dataclasses import replace

    from bot.registry.store import Registry
    from bot.services import build_services

    ticks = [100.0]
    registry = Registry(services.db, clock, monotonic=lambda: ticks[0])
    before = registry.snapshot()
    other = build_services(config, clock)  # stands for a second process on the same database
    try:
        renamed = replace(before.municipality_by_key["rana"], name="Rana kommune")
        places = tuple(renamed if m.key == "rana" else m for m in before.municipalities)
        other.registry.replace(replace(before, municipalities=places))
    finally:
        other.close()
    ticks[0] += 0.5
    assert registry.snapshot() is before  # looked at most once a second
    ticks[0] += 0.6
    assert registry.snapshot().municipality_by_key["rana"].name == "Rana kommune"
