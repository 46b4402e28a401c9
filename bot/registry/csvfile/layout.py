"""The CSV layout: its columns, which columns each kind of record uses, and import problems."""

from __future__ import annotations

from dataclasses import dataclass

from bot.registry.data import RegistryFileError

MAX_IMPORT_BYTES = 64 * 1024 * 1024
LIST_SEPARATOR = ";"
BOM = "\ufeff"

COLUMNS = (
    "record",
    "key",
    "name",
    "email",
    "phone",
    "person",
    "role",
    "municipality",
    "organisation",
    "title",
    "name_en",
    "name_nb",
    "aliases",
    "terms",
    "email_domain",
    "batch",
    "url",
    "seat_names",
    "municipalities",
    "people",
    "kind",
    "title_en",
    "title_nb",
    "start",
    "end",
    "location",
    "description_en",
    "description_nb",
    "audiences",
    "contact_roles",
    "sequence",
    "cancelled",
    "source",
    "language",
    "roles",
    "widen",
)

# record kind -> (required columns, optional columns)
RECORD_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "role_type": (("key", "name_en", "name_nb"), ("terms",)),
    "municipality": (("key", "name"), ("aliases", "email_domain", "batch")),
    "organisation": (("key", "name"), ("name_en", "aliases", "municipality", "url", "seat_names")),
    "person": (("key", "name"), ("email", "phone", "language")),
    "role": (("person", "role"), ("municipality", "organisation", "title", "source")),
    "audience": (
        ("key", "name_en", "name_nb"),
        ("aliases", "municipalities", "people", "roles", "widen"),
    ),
    "event": (
        ("key", "kind", "title_en", "title_nb", "start"),
        (
            "end",
            "location",
            "description_en",
            "description_nb",
            "audiences",
            "contact_roles",
            "sequence",
            "cancelled",
            "source",
        ),
    ),
}
MULTILINE_COLUMNS = frozenset({"description_en", "description_nb"})


@dataclass(frozen=True)
class CsvProblem:
    """One reason a file cannot be imported, with its place (row 1 is the header)."""

    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.field is None:
            return f"row {self.row}: {self.message}"
        return f"row {self.row}, field {self.field}: {self.message}"


class RegistryCsvError(RegistryFileError):
    """A registry CSV that cannot be imported; `csv_problems` says where and why."""

    def __init__(self, source: str, problems: list[CsvProblem]) -> None:
        self.csv_problems = problems
        super().__init__(source, [str(p) for p in problems])


# OWASP's rule against formula injection: a cell starting with one of these is prefixed with a
# single quote on export (spreadsheets then show it as text); import removes that quote. A
# value that itself starts with a quote before one of them (or before another quote) gets one
# too, so every value reads back unchanged.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def escape_cell(value: str) -> str:
    """The cell as written: formula-looking text made inert with a leading quote."""
    if value.startswith(FORMULA_TRIGGERS) or (
        value.startswith(_QUOTE) and value[1:2] in (*FORMULA_TRIGGERS, _QUOTE)
    ):
        return _QUOTE + value
    return value


def unescape_cell(cell: str) -> str:
    """The value of a cell `escape_cell` wrote (other cells unchanged)."""
    if cell.startswith(_QUOTE) and cell[1:2] and cell[1:2] in (*FORMULA_TRIGGERS, _QUOTE):
        return cell[1:]
    return cell
