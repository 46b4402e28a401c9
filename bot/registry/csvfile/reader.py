"""Reading a registry CSV: refusing what is not a UTF-8 CSV, then checking row by row."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.registry.csvfile.builder import Builder
from bot.registry.csvfile.layout import (
    COLUMNS,
    LIST_SEPARATOR,
    MAX_IMPORT_BYTES,
    MULTILINE_COLUMNS,
    CsvProblem,
    RegistryCsvError,
    unescape_cell,
)
from bot.registry.data import RegistryData, reference_problems
from bot.registry.quality import text_control_problem

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# (Unicode line separators and format controls: bot.registry.quality.text_control_problem.)
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0", ""}


def read_registry_csv_file(
    path: Path, timezone: str, max_bytes: int = MAX_IMPORT_BYTES
) -> RegistryData:
    """Read and check a registry CSV file of at most `max_bytes` (bot.max_import_bytes);
    raises RegistryCsvError naming every problem."""
    source = str(path)

    def refuse(message: str) -> RegistryCsvError:
        return RegistryCsvError(source, [CsvProblem(None, None, message)])

    try:
        if path.is_dir():
            raise refuse("is a directory, not a CSV file")
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise refuse("file not found") from None
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise refuse(f"is larger than {max_bytes:,} bytes (bot.max_import_bytes); nothing was read")
    return parse_registry_csv(raw, timezone, source)


def _decode(raw: bytes, source: str) -> str:
    def refuse(message: str) -> RegistryCsvError:
        return RegistryCsvError(source, [CsvProblem(None, None, message)])

    if not raw.strip():
        raise refuse("the file is empty")
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise refuse("is a spreadsheet workbook (.xlsx/.ods/.xls), not CSV; save it as CSV UTF-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refuse("is UTF-16 text (Excel's 'Unicode text'); save it as CSV UTF-8")
    if b"\x00" in raw:
        raise refuse("is a binary file, not CSV")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise refuse(
            f"is not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); "
            "save it as CSV UTF-8 (in Excel: 'CSV UTF-8 (kommadelt)')"
        ) from None


def _header(text: str, source: str) -> tuple[str, list[str]]:
    """The delimiter and the normalised column names, found from the first line."""
    first_line = text.splitlines()[0] if text else ""
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        names = [c.strip().lower() for c in cells]
        if "record" in names:
            return delimiter, names
    raise RegistryCsvError(
        source,
        [
            CsvProblem(
                1,
                None,
                "not a coordbot registry CSV: the first row must be the header, with a "
                f"'record' column (found {first_line[:80]!r})",
            )
        ],
    )


def parse_registry_csv(raw: bytes, timezone: str, source: str = "CSV") -> RegistryData:
    """Parse and check a whole registry CSV; raises RegistryCsvError listing every problem
    (nothing is returned half-read)."""
    text = _decode(raw, source)
    delimiter, names = _header(text, source)
    problems: list[CsvProblem] = []
    for i, name in enumerate(names):
        if name and name not in COLUMNS:
            problems.append(CsvProblem(1, name, f"unknown column; known: {', '.join(COLUMNS)}"))
        elif name and name in names[:i]:
            problems.append(CsvProblem(1, name, "column appears twice"))
    if problems:
        raise RegistryCsvError(source, problems)
    builder = Builder(ZoneInfo(timezone), problems)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    number = 1
    try:
        next(reader)
        for number, cells in enumerate(reader, start=2):
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
                problems.append(CsvProblem(number, None, "more cells than the header has columns"))
                continue
            row = Row(number, names, cells, problems)
            if row.is_blank or row.record.startswith("#"):
                continue  # blank lines and "#" rows are notes for people
            builder.add(row)
    except csv.Error as exc:
        problems.append(CsvProblem(number + 1, None, f"not valid CSV: {exc}"))
    if not problems and builder.rows == 0:
        problems.append(CsvProblem(None, None, "the file has a header but no records"))
    data = builder.build(timezone)
    if not problems:
        problems += [CsvProblem(None, None, p) for p in reference_problems(data)]
    if problems:
        raise RegistryCsvError(source, problems)
    return data


class Row:
    """One data row, its cells by column name, recording problems instead of raising."""

    def __init__(
        self, number: int, names: list[str], cells: list[str], problems: list[CsvProblem]
    ) -> None:
        self.number = number
        self.problems = problems
        # Most cells of the one wide sheet are empty: only filled ones need unescaping.
        self.cells = {
            n: unescape_cell(c) if c else c for n, c in zip(names, cells, strict=False) if n
        }
        self.unnamed = any(c.strip() for n, c in zip(names, cells, strict=False) if not n)
        self.record = self.cells.get("record", "").strip().lower()
        self.is_blank = not any(c.strip() for c in cells)

    def problem(self, field: str | None, message: str) -> None:
        self.problems.append(CsvProblem(self.number, field, message))

    def text(self, field: str, required: bool = False) -> str | None:
        """The cell as written (not trimmed), None when empty."""
        value = self.cells.get(field, "")
        if not value.strip():
            if required:
                self.problem(field, f"required for {self.record} rows")
            return None
        pattern = _MULTILINE_CONTROL if field in MULTILINE_COLUMNS else _CONTROL
        if pattern.search(value):
            self.problem(field, "line breaks and control characters are not allowed here")
        else:
            problem = text_control_problem(value)
            if problem is not None:
                self.problem(field, f"{problem}, which is not allowed in the registry")
        return value

    def key(self, field: str = "key") -> str:
        """A key or reference: required, no spaces."""
        value = self.text(field, required=True) or ""
        if value and any(ch.isspace() for ch in value):
            self.problem(field, f"{value!r}: keys may not contain spaces")
        return value

    def ref(self, field: str) -> str | None:
        """An optional key reference."""
        return self.key(field) if self.text(field) is not None else None

    def items(self, field: str, unique: bool = False) -> tuple[str, ...]:
        """A `;`-separated list; empty items are skipped."""
        value = self.text(field) or ""
        found = tuple(i.strip() for i in value.split(LIST_SEPARATOR) if i.strip())
        if unique:
            for item in {i for i in found if found.count(i) > 1}:
                self.problem(field, f"{item!r} is listed twice")
        return found

    def integer(self, field: str) -> int | None:
        """A whole number >= 0, or None when empty."""
        value = self.text(field)
        if value is None:
            return None
        try:
            number = int(value.strip())
        except ValueError:
            self.problem(field, f"{value!r} is not a whole number")
            return None
        if number < 0:
            self.problem(field, f"{value!r} must not be negative")
        return number

    def boolean(self, field: str) -> bool:
        """true/false (also yes/no, 1/0); empty is false."""
        value = (self.text(field) or "").strip().lower()
        if value not in _TRUE | _FALSE:
            self.problem(field, f"{value!r} is not true or false")
        return value in _TRUE

    def moment(self, field: str, zone: ZoneInfo, required: bool = False) -> date | datetime | None:
        """An ISO 8601 date (all-day) or date-time (naive: in `zone`)."""
        value = self.text(field, required)
        if value is None:
            return None
        value = value.strip()
        try:
            if "T" in value or " " in value:
                moment = datetime.fromisoformat(value)
                return moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
            return date.fromisoformat(value)
        except ValueError:
            self.problem(
                field,
                f"{value!r} is not an ISO 8601 date (YYYY-MM-DD) "
                "or date-time (YYYY-MM-DDTHH:MM, optionally with +01:00)",
            )
            return None

    def check_columns(self, allowed: Iterable[str]) -> None:
        """Values in columns this kind of record does not use are refused, not dropped."""
        permitted = {"record", *allowed}
        for name, value in self.cells.items():
            if value and name not in permitted and value.strip():
                self.problem(name, f"not used by {self.record} rows; leave it empty")
        if self.unnamed:
            self.problem(None, "a value in a column without a header")
