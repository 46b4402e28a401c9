"""Incremental registry writes (bot.registry.rows, Registry.apply): an edit writes only the rows
it changed, moves the snapshot forward without reading the registry again, and every lookup
carried forward equals the one a fresh read builds."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.registry.data import RegistryConflict, RegistryData
from bot.registry.edits import Actor, EmailEdit, RoleEdit, apply_edit
from bot.registry.edits.values import EditError
from bot.registry.quality import check_records, check_registry
from bot.registry.rows import PERSON, ROLE, bump_generation, changed_records, read_registry
from bot.registry.store import Registry
from bot.services import Services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

ACTOR = Actor("console", "Test")


def row_ids(services: Services) -> tuple[dict[str, int], set[int]]:
    """Person key -> row id, and every role row's id."""
    with services.db.session() as session:
        people = {key: id_ for id_, key in session.execute(select(PERSON.c.id, PERSON.c.key))}
        roles = set(session.scalars(select(ROLE.c.id)))
    return people, roles


def fresh(services: Services) -> RegistryData:
    """The registry as a new process would read it."""
    with services.db.session() as session:
        return read_registry(session, services.config.bot.timezone)


def lookups(data: RegistryData) -> dict[str, object]:
    """Every people lookup a snapshot offers, as plain values to compare."""
    keys = [p.key for p in data.people]
    places = [m.key for m in data.municipalities]
    roles = [r.key for r in data.role_types]
    return {
        "person_by_key": {k: data.person_by_key[k] for k in keys},
        "positions": [data.position(k) for k in keys],
        "holders": {r: data.holders(r) for r in roles},
        "holders_at": {(r, m): data.holders(r, municipality=m) for r in roles for m in places},
        "people_at": {m: data.people_at(m) for m in places},
        "addresses": {p.email: data.people_with_address(p.email) for p in data.people if p.email},
        "audiences": {a.key: data.audience_members(a.key) for a in data.audiences},
        "in_audience": {
            (p.key, a.key): data.in_audience(p, a.key) for p in data.people for a in data.audiences
        },
        "events": dict(data.event_by_key),
    }


def test_an_edit_rewrites_no_other_row_and_reads_nothing_back(services, monkeypatch) -> None:
    """Only the edited person's row changes: every other person and role keeps its row, and
    the snapshot after the edit comes from memory, not from reading the registry again."""
    services.registry.current()
    people_before, roles_before = row_ids(services)

    def no_full_read(*args: object, **kwargs: object) -> RegistryData:
        raise AssertionError("the whole registry was read again")

    monkeypatch.setattr("bot.registry.store.read_registry", no_full_read)
    outcome = apply_edit(services, EmailEdit("geir-graff", "geir@asker.example"), ACTOR)
    assert outcome.changed and outcome.after.email == "geir@asker.example"
    role = apply_edit(services, RoleEdit("geir-graff", "data_contact", "bodo"), ACTOR)
    assert role.changed
    people_after, roles_after = row_ids(services)
    assert people_after == people_before
    geir = people_before["geir-graff"]
    with services.db.session() as session:
        geir_roles = set(session.scalars(select(ROLE.c.id).where(ROLE.c.person_id == geir)))
    # Everyone else's roles are the same rows; only Geir's were written again.
    assert roles_after - geir_roles == roles_before - (roles_before - roles_after)
    assert services.registry.snapshot().person_by_key["geir-graff"].email == "geir@asker.example"
    monkeypatch.undo()
    assert fresh(services) == services.registry.snapshot()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_carried_lookups_equal_a_fresh_read(services, data) -> None:
    """After any series of e-mail and role edits, every lookup of the snapshot (carried
    forward edit by edit) equals the lookup of the registry read afresh from the database."""
    snapshot = services.registry.current()
    lookups(snapshot)  # build every lookup, so each edit carries them forward
    people = [p.key for p in snapshot.people]
    places = [m.key for m in snapshot.municipalities]
    roles = ["data_contact", "network_representative"]
    steps = data.draw(st.integers(min_value=1, max_value=6))
    for _ in range(steps):
        person = data.draw(st.sampled_from(people))
        if data.draw(st.booleans()):
            address = data.draw(
                st.sampled_from(["-", "shared@bodo.kommune.no", f"{person}@example.org"])
            )
            edit: EmailEdit | RoleEdit = EmailEdit(person, address)
        else:
            remove = data.draw(st.booleans())
            edit = RoleEdit(
                person,
                data.draw(st.sampled_from(roles)),
                data.draw(st.sampled_from(places)),
                remove,
            )
        try:
            apply_edit(services, edit, ACTOR)
        except EditError:
            continue  # removing a role nobody holds: refused, nothing written
    carried = services.registry.snapshot()
    expected = fresh(services)
    assert carried == expected
    assert lookups(carried) == lookups(expected)


def test_findings_of_some_records_are_those_of_the_whole_check(services) -> None:
    """What an edit reports about a person or municipality is exactly what `registry check`
    says about them, for every person and municipality of the seed registry."""
    data = services.registry.snapshot()
    everything = check_registry(data)
    for person in data.people:
        mine = [f for f in everything if (f.subject_kind, f.subject_key) == ("person", person.key)]
        assert check_records(data, people=[person.key]) == mine, person.key
    for place in data.municipalities:
        about = ("municipality", place.key)
        mine = [f for f in everything if (f.subject_kind, f.subject_key) == about]
        assert check_records(data, municipalities=[place.key]) == mine, place.key


def test_a_stale_writer_is_refused_by_the_counter(services) -> None:
    """The write counter is a compare-and-swap: a writer holding an older snapshot is refused
    and writes nothing, as a second process's edit would be."""
    before = services.registry.current()
    other = Registry(services.db, services.clock, services.config.bot.timezone)
    geir = before.person_by_key["geir-graff"]
    changed = dataclasses.replace(geir, email="other@asker.example")
    people = tuple(changed if p.key == geir.key else p for p in before.people)
    other.apply(before, dataclasses.replace(before, people=people))
    with pytest.raises(RegistryConflict):
        services.registry.apply(before, dataclasses.replace(before, people=people))
    with services.db.session() as session, pytest.raises(RegistryConflict):
        bump_generation(session, before.generation)
    assert fresh(services).person_by_key["geir-graff"].email == "other@asker.example"


def test_changed_records_finds_every_change_at_any_place() -> None:
    """The halving search finds changed, added and removed records wherever they are."""
    rng = random.Random(14)
    for _ in range(200):
        size = rng.randrange(0, 300)
        old = tuple(dataclasses.make_dataclass("R", ["key", "v"])(str(i), i) for i in range(size))
        new = list(old)
        touched = set(rng.sample(range(size), min(size, rng.randrange(0, 5))))
        for i in touched:
            new[i] = dataclasses.replace(new[i], v=-1)
        added = [type(old[0])(f"n{j}", j) for j in range(rng.randrange(0, 3))] if old else []
        pairs = changed_records(old, tuple(new + added))
        assert sorted(int(o.key) for o, n in pairs if o is not None) == sorted(touched)
        assert [n.key for o, n in pairs if o is None] == [a.key for a in added]


def test_a_cached_snapshot_is_handed_out_only_while_fresh_and_never_waits(services) -> None:
    """cached() gives the snapshot within a second of its last check, None after that (when
    snapshot() would ask the database), and never waits: while another thread holds the
    registry it still gives the copy checked within the last second (a request answered from
    it is ordered before that thread's write), and None once a write dropped it."""
    now = [100.0]
    registry = Registry(services.db, services.clock, monotonic=lambda: now[0])
    assert registry.cached() is None  # nothing read yet
    read = registry.snapshot()
    assert registry.cached() is read
    now[0] += 1.5
    assert registry.cached() is None
    assert registry.snapshot() is read  # checked again: nobody wrote
    assert registry.cached() is read
    with registry._lock:  # another thread reading or writing the registry
        assert registry.cached() is read
        registry._snapshot = None  # as a write does before it reads again
        assert registry.cached() is None


def test_a_snapshot_being_checked_is_not_handed_out_as_fresh(
    services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While snapshot() asks the database whether another process wrote (its copy over a
    second old), a feed poll on the event loop must wait for the answer, not get the copy
    that check may be about to drop."""
    import bot.registry.store as store

    now = [100.0]
    registry = Registry(services.db, services.clock, monotonic=lambda: now[0])
    read = registry.snapshot()
    now[0] += 1.5
    seen: list[object] = []
    real = store.generation

    def polled_during_the_check(session: object) -> int:
        seen.append(registry.cached())  # a poll arriving while the check runs
        return real(session)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "generation", polled_during_the_check)
    assert registry.snapshot() is read  # nobody wrote
    assert seen == [None]
    assert registry.cached() is read  # checked now
