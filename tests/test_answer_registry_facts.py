"""Facts issue 10 added to the registry: an organisation's seat (a new, nullable column
`organisation.seat_names`, CSV column `seat_names`) survives the database and the CSV round trip,
and the facts the answers rest on come from bot/data/registry.toml."""

from __future__ import annotations

import pytest

from bot.registry.csvfile.export import export_registry_csv
from bot.registry.csvfile.layout import COLUMNS
from bot.registry.csvfile.reader import parse_registry_csv
from bot.services import Services

OSLO = "Europe/Oslo"


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def test_seat_names_are_stored_and_round_trip_through_csv(services: Services) -> None:
    data = services.registry.snapshot()
    assert data.organisation_by_key["oier"].seat_names == ("Vienna", "Wien", "Vienne")
    assert data.organisation_by_key["ks"].seat_names == ()
    assert "seat_names" in COLUMNS
    text = export_registry_csv(data)
    assert "Vienna;Wien;Vienne" in text or "Vienna; Wien; Vienne" in text
    again = parse_registry_csv(text.encode("utf-8"), OSLO)
    assert again.organisation_by_key["oier"].seat_names == ("Vienna", "Wien", "Vienne")
    assert again.organisation_by_key["ks"].seat_names == ()


def test_registry_holds_the_newsletters_facts(services: Services) -> None:
    data = services.registry.snapshot()
    signatory = [
        p.name for p in data.people if any(r.role == "newsletter_signatory" for r in p.roles)
    ]
    assert signatory == ["Kari Aina Eik"]
    general = [p.name for p in data.people if any(r.role == "general_contact" for r in p.roles)]
    assert general == ["Bente Kristin Malmo"]
    # Partners the newsletter names without a contact: registered, with nobody at them.
    for key in ("ks", "kmd", "innovasjon-norge"):
        assert key in data.organisation_by_key
        assert not any(r.organisation == key for p in data.people for r in p.roles)
    meeting = next(e for e in data.events if e.key == "steering-group-meeting")
    assert "The North West" in (meeting.description_en or "")
