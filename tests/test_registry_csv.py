"""`coordbot registry export | import`: the CSV round trip and the all-or-nothing import."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.registry.csvfile import (
    COLUMNS,
    RegistryCsvError,
    comparable,
    export_registry_csv,
    parse_registry_csv,
)
from bot.registry.data import RegistryData
from bot.registry.quality import text_control_problem
from bot.registry.store import read_registry
from bot.services import Services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

FIXTURES = Path(__file__).parent / "fixtures"
OSLO = "Europe/Oslo"


def stored(services: Services) -> RegistryData:
    """The registry as the database holds it now, read in a fresh session (no cache)."""
    with services.db.session() as session:
        return read_registry(session, OSLO)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def csv_bytes(rows: list[dict[str, str]], delimiter: str = ",", bom: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- export and round trip -------------------------------------------------------------------


def test_export_is_utf8_with_bom_crlf_and_the_documented_header(
    services: Services, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["registry", "export"]) == 0
    raw = capsysbinary.readouterr().out
    assert raw.startswith(b"\xef\xbb\xbf" + b",".join(c.encode() for c in COLUMNS) + b"\r\n")
    text = raw.decode("utf-8-sig")
    assert "Bærum" in text and "Ålesund" in text
    rows = rows_of(text)
    kinds = [r["record"] for r in rows]
    assert kinds.count("municipality") == 12 and kinds.count("event") == 9
    # One row per role, right after its person: Silja Rønningsen holds two.
    silja = next(i for i, r in enumerate(rows) if r["key"] == "silja-ronningsen")
    assert [r["role"] for r in rows[silja + 1 : silja + 3]] == [
        "data_contact",
        "business_partnership",
    ]
    assert {r["person"] for r in rows[silja + 1 : silja + 3]} == {"silja-ronningsen"}


def test_export_then_parse_gives_the_same_registry(services: Services) -> None:
    data = services.registry.snapshot()
    again = parse_registry_csv(export_registry_csv(data).encode("utf-8"), OSLO)
    assert comparable(again) == comparable(data)
    # The newsletter's defects survive the trip exactly as printed.
    assert again.person_by_key["randi-myhre"].email == "randi. myhre@molde.kommune.no"


def test_cli_export_import_round_trip_changes_nothing(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored(services)
    target = tmp_path / "registry.csv"
    code, out, err = run(capsys, "registry", "export", "-o", str(target))
    assert code == 0 and out == "" and f"to {target}" in err
    code, out, err = run(capsys, "registry", "import", str(target))
    assert code == 0, err
    assert "replaced in one transaction" in out
    assert out.count("(+0 added, -0 removed, ~0 changed)") == 6
    # Identical data: not even an event's SEQUENCE or change time moves.
    assert stored(services) == before


def test_timed_and_multiline_values_round_trip(services: Services) -> None:
    data = services.registry.snapshot()
    from zoneinfo import ZoneInfo

    timed = replace(
        data.event_by_key["network-meeting"],
        start=datetime(2020, 2, 21, 10, 0, tzinfo=ZoneInfo(OSLO)),
        end=datetime(2020, 2, 21, 15, 30, tzinfo=ZoneInfo(OSLO)),
        description_nb='Linje én,\n"sitat"; og semikolon',
    )
    changed = replace(data, events=tuple(timed if e.key == timed.key else e for e in data.events))
    again = parse_registry_csv(export_registry_csv(changed).encode("utf-8"), OSLO)
    assert comparable(again) == comparable(changed)
    assert again.event_by_key["network-meeting"].start.utcoffset() is not None


# Any text the registry accepts: the format controls and line separators it refuses
# (bot.registry.quality.text_control_problem, tested on their own) are left out.
_free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(lambda s: s.strip() and text_control_problem(s) is None)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_free_text, email=_free_text, title=_free_text, description=_free_text)
def test_any_text_survives_the_round_trip(
    services: Services, name: str, email: str, title: str, description: str
) -> None:
    data = services.registry.snapshot()
    person = data.people[0]
    person = replace(person, name=name, email=email, roles=(replace(person.roles[0], title=title),))
    event = replace(data.events[0], description_en=description + "\nline two")
    changed = replace(data, people=(person, *data.people[1:]), events=(event, *data.events[1:]))
    again = parse_registry_csv(export_registry_csv(changed).encode("utf-8"), OSLO)
    assert comparable(again) == comparable(changed)


def test_export_refuses_data_a_list_cell_cannot_hold(services: Services) -> None:
    data = services.registry.snapshot()
    place = replace(data.municipalities[0], aliases=("Asker; Viken",))
    broken = replace(data, municipalities=(place, *data.municipalities[1:]))
    with pytest.raises(ValueError, match="cannot be written"):
        export_registry_csv(broken)


# --- import ----------------------------------------------------------------------------------


def test_fixture_file_replaces_the_registry(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "registry", "import", str(FIXTURES / "registry-small.csv"))
    assert code == 0, err
    data = stored(services)
    assert [m.name for m in data.municipalities] == ["Bodø", "Ålesund"]
    assert data.municipality_by_key["alesund"].aliases == ("Nye Ålesund", "Aalesund")
    bente = data.person_by_key["bente-glomseth-vikhagen"]
    assert bente.email is None and bente.roles[0].organisation == "network-of-excellence"
    meeting = data.event_by_key["network-meeting"]
    assert meeting.start == datetime.fromisoformat("2020-02-21T10:00+01:00")
    assert meeting.description_en == "The network elects its leader\nand deputy leader."
    # Replace, not merge: seed events absent from the file are cancelled (UIDs never reused).
    assert data.event_by_key["county-meeting"].cancelled
    assert not data.event_by_key["data-deadline"].cancelled
    assert "municipalities    2  (+0 added, -10 removed, ~1 changed)" in out
    assert "Cancelled (invitees get a CANCEL):" in out and "county-meeting" in out
    assert "Data quality:" in out


def test_one_bad_row_in_the_middle_imports_nothing(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored(services)
    code, out, err = run(capsys, "registry", "import", str(FIXTURES / "registry-bad-row.csv"))
    assert code == 2 and out == ""
    assert "nothing was imported" in err
    assert "row 11, field municipality: no municipality with key 'aalesund'" in err
    assert "Traceback" not in err
    assert stored(services) == before


def _seed_rows(services: Services) -> list[dict[str, str]]:
    return rows_of(export_registry_csv(services.registry.snapshot()))


def _edit(rows: list[dict[str, str]], kind: str, key: str, values: dict[str, str]) -> int:
    """Change one row in place; return its row number as a spreadsheet shows it."""
    field = "person" if kind == "role" else "key"
    index = next(i for i, r in enumerate(rows) if r["record"] == kind and r[field] == key)
    rows[index].update(values)
    return index + 2


@pytest.mark.parametrize(
    ("record", "key", "values", "field", "message"),
    [
        ("event", "data-deadline", {"start": "31.01.2020"}, "start", "not an ISO 8601 date"),
        ("event", "data-deadline", {"end": "2020-01-01"}, "end", "is before the start"),
        (
            "event",
            "data-deadline",
            {"end": "2020-02-01T10:00"},
            "end",
            "both be dates or both date-times",
        ),
        ("event", "data-deadline", {"kind": "party"}, "kind", "not one of meeting"),
        ("event", "data-deadline", {"title_nb": " "}, "title_nb", "required for event rows"),
        ("event", "data-deadline", {"sequence": "-1"}, "sequence", "must not be negative"),
        ("event", "data-deadline", {"sequence": "two"}, "sequence", "not a whole number"),
        ("event", "data-deadline", {"cancelled": "maybe"}, "cancelled", "not true or false"),
        ("event", "data-deadline", {"audiences": "batch1; batch1"}, "audiences", "listed twice"),
        ("event", "data-deadline", {"audiences": "batch9"}, "audiences", "no audience"),
        ("person", "geir-graff", {"batch": "1"}, "batch", "not used by person rows"),
        ("person", "geir-graff", {"name": "Geir\nGraff"}, "name", "line breaks"),
        ("person", "geir-graff", {"key": "geir graff"}, "key", "may not contain spaces"),
        (
            "person",
            "tom-rian",
            {"key": "geir-graff"},
            "key",
            "already the key of the person in row",
        ),
        ("person", "geir-graff", {"record": "persons"}, "record", "'persons' is not one of"),
        ("role", "geir-graff", {"role": "data_kontakt"}, "role", "no role with key"),
        ("role", "geir-graff", {"person": "geir"}, "person", "no person with key 'geir'"),
        ("municipality", "asker", {"batch": "first"}, "batch", "not a whole number"),
        ("audience", "network", {"people": "nobody"}, "people", "no person with key"),
        ("organisation", "city-lab-alesund", {"municipality": "x"}, "municipality", "no mun"),
    ],
)
def test_each_broken_row_is_named_by_row_and_field(
    services: Services,
    record: str,
    key: str,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    rows = _seed_rows(services)
    number = _edit(rows, record, key, values)
    with pytest.raises(RegistryCsvError) as caught:
        parse_registry_csv(csv_bytes(rows), OSLO)
    texts = [str(p) for p in caught.value.csv_problems]
    assert any(t.startswith(f"row {number}, field {field}: ") and message in t for t in texts), (
        texts
    )


def test_every_problem_is_listed_not_only_the_first(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _seed_rows(services)
    first = _edit(rows, "event", "data-deadline", {"start": "2020-13-01"})
    second = _edit(rows, "person", "tom-rian", {"name": ""})
    third = _edit(rows, "municipality", "molde", {"record": "kommune"})
    path = tmp_path / "three.csv"
    path.write_bytes(csv_bytes(rows))
    before = stored(services)
    code, _, err = run(capsys, "registry", "import", str(path))
    assert code == 2
    assert f"row {first}, field start:" in err
    assert f"row {second}, field name: required for person rows" in err
    assert f"row {third}, field record: 'kommune' is not one of" in err
    assert stored(services) == before


def test_header_problems_name_row_one(services: Services) -> None:
    rows = _seed_rows(services)
    text = csv_bytes(rows).decode("utf-8-sig").replace("phone", "telefon", 1)
    with pytest.raises(RegistryCsvError) as caught:
        parse_registry_csv(text.encode(), OSLO)
    assert str(caught.value.csv_problems[0]).startswith("row 1, field telefon: unknown column")
    doubled = b"record,key,key\r\nmunicipality,a,a\r\n"
    with pytest.raises(RegistryCsvError, match="row 1, field key: column appears twice"):
        parse_registry_csv(doubled, OSLO)


def test_ragged_and_unquoted_rows_are_errors_not_guesses() -> None:
    extra = b"record,key,name\r\nmunicipality,a,A,surplus\r\n"
    with pytest.raises(RegistryCsvError, match="row 2: more cells than the header"):
        parse_registry_csv(extra, OSLO)
    bad_quote = b'record,key,name\r\nmunicipality,a,"A" B\r\n'
    with pytest.raises(RegistryCsvError, match="row 2: not valid CSV"):
        parse_registry_csv(bad_quote, OSLO)


def test_semicolon_separated_file_without_bom_imports(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What Excel writes as "CSV UTF-8" in a Norwegian locale: `;` between cells."""
    before = services.registry.snapshot()
    path = tmp_path / "semikolon.csv"
    path.write_bytes(csv_bytes(_seed_rows(services), delimiter=";", bom=False))
    code, _out, err = run(capsys, "registry", "import", str(path))
    assert code == 0, err
    assert comparable(stored(services)) == comparable(before)


def test_address_defects_are_data_not_import_errors(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _seed_rows(services)
    _edit(rows, "person", "geir-graff", {"email": "geir graff@asker,kommune.no"})
    path = tmp_path / "defect.csv"
    path.write_bytes(csv_bytes(rows))
    code, out, _ = run(capsys, "registry", "import", str(path))
    assert code == 0
    assert stored(services).person_by_key["geir-graff"].email == "geir graff@asker,kommune.no"
    # The seed has three errors (a space, two misspelt domains); this adds a fourth.
    assert "Data quality: 4 errors" in out


def test_moving_and_dropping_events_in_the_file(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str], clock
) -> None:
    rows = _seed_rows(services)
    _edit(rows, "event", "network-meeting", {"start": "2020-02-28"})
    rows = [r for r in rows if r["key"] != "county-meeting"]
    path = tmp_path / "moved.csv"
    path.write_bytes(csv_bytes(rows))
    code, out, err = run(capsys, "registry", "import", str(path))
    assert code == 0, err
    data = stored(services)
    assert data.event_by_key["network-meeting"].start == date(2020, 2, 28)
    assert data.event_by_key["network-meeting"].sequence == 1
    assert data.event_by_key["county-meeting"].cancelled
    assert data.event_by_key["county-meeting"].sequence == 1
    assert "Changed time or place (SEQUENCE raised): network-meeting" in out
    assert "Cancelled (invitees get a CANCEL): county-meeting" in out
    assert "events            9  (+0 added, -0 removed, ~2 changed)" in out


# --- files that are not a registry CSV ----------------------------------------------------


def _big(path: Path) -> None:
    path.write_bytes(b"record,key\r\n" + b"municipality,x\r\n" * 400_000)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \r\n\r\n", "the file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet workbook"),
        ("record,key\r\n".encode("utf-16"), "UTF-16"),
        ("record,key,name\r\nmunicipality,baerum,Bærum\r\n".encode("latin-1"), "not UTF-8"),
        (b"record,key\x00\r\n", "binary file"),
        (b'[meta]\ntimezone = "Europe/Oslo"\n', "not a coordbot registry CSV"),
        (b"record,key,name\r\n", "has a header but no records"),
        (_big, "larger than 4,000,000 bytes (bot.max_import_bytes)"),
    ],
)
def test_files_that_are_not_a_registry_csv_are_refused(
    services: Services,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: object,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cap is a setting: set low here so the refusal is seen without a huge file.
    monkeypatch.setenv("COORDBOT_BOT_MAX_IMPORT_BYTES", "4000000")
    before = stored(services)
    path = tmp_path / "input.csv"
    if callable(content):
        content(path)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    code, _out, err = run(capsys, "registry", "import", str(path))
    assert code == 2 and message in err and "Traceback" not in err, err
    assert stored(services) == before


def test_missing_file_and_directory_are_refused(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "registry", "import", str(tmp_path / "nope.csv"))
    assert code == 2 and "file not found" in err
    code, _, err = run(capsys, "registry", "import", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_export_to_an_unwritable_place_is_a_clear_error(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "registry", "export", "-o", str(tmp_path / "no" / "dir.csv"))
    assert code == 2 and "cannot write" in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()
