"""The answer index after a chat edit (Index.with_people): the edited people are filed again,
everything else is shared, and the result is exactly the index a full build makes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering.gazetteer import load_names, load_places
from bot.answering.index import HOLDING_TABLES, Index
from bot.registry.edits import Actor, EmailEdit, RoleEdit, apply_edit
from bot.registry.edits.values import EditError
from bot.services import Services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

ACTOR = Actor("console", "Test")


def filed(index: Index) -> dict[str, object]:
    """What an index files people under, as plain values to compare."""
    tables = {
        name: {
            key: [(h.person, h.role) for h in holdings]
            for key, holdings in getattr(index, name).items()
            if holdings
        }
        for name in HOLDING_TABLES
    }
    return {**tables, "emails": dict(index.emails), "data": index.data}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_an_edited_index_is_the_index_a_full_build_makes(services: Services, data) -> None:
    """After any series of e-mail and role edits, the index the engine moved forward files
    every person exactly as an index built afresh over the same registry does, and it was
    moved forward (its phrase table is still the first build's), not built again."""
    first = services.answers.index()
    snapshot = services.registry.current()
    people = [p.key for p in snapshot.people]
    places = [m.key for m in snapshot.municipalities]
    for _ in range(data.draw(st.integers(min_value=1, max_value=5))):
        person = data.draw(st.sampled_from(people))
        if data.draw(st.booleans()):
            address = data.draw(st.sampled_from(["-", "delt@bodo.kommune.no", f"{person}@x.no"]))
            edit: EmailEdit | RoleEdit = EmailEdit(person, address)
        else:
            role = data.draw(st.sampled_from(["data_contact", "network_representative"]))
            edit = RoleEdit(
                person, role, data.draw(st.sampled_from(places)), data.draw(st.booleans())
            )
        try:
            apply_edit(services, edit, ACTOR)
        except EditError:
            continue
        moved = services.answers.index()
        assert moved.phrases is first.phrases
        fresh = Index(services.registry.snapshot(), load_places(), load_names())
        assert filed(moved) == filed(fresh)


def test_an_edit_shows_in_the_next_answer(services: Services) -> None:
    """The answer after an address change names the new address, and a new data contact
    is named at their municipality."""
    assert (
        "vesa.heikki.jantti@bodo.kommune.no"
        in services.answers.ask("who is Bodø's data contact?").text
    )
    apply_edit(services, EmailEdit("vesa-heikki-jantti", "vesa@bodo.kommune.no"), ACTOR)
    answer = services.answers.ask("who is Bodø's data contact?").text
    assert "vesa@bodo.kommune.no" in answer and "jantti@" not in answer
    apply_edit(services, RoleEdit("geir-graff", "data_contact", "bodo"), ACTOR)
    assert "Geir Graff" in services.answers.ask("who is Bodø's data contact?").text


def test_re_filing_keeps_the_tables_it_does_not_touch(services: Services) -> None:
    """An edit re-files into copies of the tables the person is filed in (their holdings
    name the changed record); every other table is the very same object, not rebuilt and
    not read back from the cache's compact form."""
    first = services.answers.index()
    # Bærum's data contact: one role at a municipality, no body, no job title.
    christian = services.registry.snapshot().person_by_key["christian-holmas-haave"]
    assert all(r.municipality and not r.organisation and not r.title for r in christian.roles)
    apply_edit(services, EmailEdit(christian.key, "christian@baerum.kommune.no"), ACTOR)
    moved = services.answers.index()
    assert moved is not first and moved.phrases is first.phrases
    for name in ("by_role_org", "by_org", "by_title", "by_role_unplaced"):
        assert getattr(moved, name) is getattr(first, name), name
    for name in ("by_role", "by_role_place", "by_place"):
        assert type(getattr(moved, name)).__name__ == "defaultdict", name
        assert getattr(moved, name) is not getattr(first, name), name
