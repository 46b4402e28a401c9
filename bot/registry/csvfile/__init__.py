"""The registry as one CSV file: export it, edit it in a spreadsheet, import it back atomically.

Format: one sheet, one record per row, its kind in the `record` column (`role_type`,
`municipality`, `organisation`, `person`, `role`, `audience`, `event`). One sheet because a
coordinator opens, sorts and filters a single file in Excel or LibreOffice and saves it as one
CSV; a set of files would be saved half-edited. A person's roles are `role` rows (one per role,
naming the person in the `person` column), so "every data contact" is one filter on `role`, and a
person with several roles needs no cell holding a list of records. Columns a kind does not use
stay empty; a value there is refused on import rather than dropped. Lists (aliases, audience
members, an event's audiences) are `;`-separated in one cell. Dates are ISO 8601: `2020-01-31` is
an all-day item, `2020-02-21T10:00+01:00` a timed one (without an offset: the programme's zone).
Blank rows and rows whose `record` starts with `#` are notes for people: import skips them
and they are not stored, so an export does not bring them back.

Export writes UTF-8 with a byte-order mark and CRLF line ends (RFC 4180): without the BOM,
Excel opens the file as Windows-1252 and shows "BÃ¦rum"; LibreOffice and Python's
`utf-8-sig` read the BOM correctly. Import accepts it with or without the BOM, separated by
commas, semicolons (what Excel writes in a Norwegian locale) or tabs.

Import replaces the whole registry: the file is the registry, so export -> edit -> import is a
round trip. It parses and checks every row first and raises `RegistryCsvError` listing every
problem as "row N, field F: ..." (row 1 is the header, as a spreadsheet numbers them); nothing
is written unless the whole file is sound. Data-quality problems inside a value (a space in an
address) are not import errors: `bot.registry.quality` reports them.
"""

from bot.registry.csvfile.export import comparable, export_registry_csv
from bot.registry.csvfile.layout import (
    COLUMNS,
    MAX_IMPORT_BYTES,
    RECORD_FIELDS,
    CsvProblem,
    RegistryCsvError,
)
from bot.registry.csvfile.reader import parse_registry_csv, read_registry_csv_file

__all__ = [
    "COLUMNS",
    "MAX_IMPORT_BYTES",
    "RECORD_FIELDS",
    "CsvProblem",
    "RegistryCsvError",
    "comparable",
    "export_registry_csv",
    "parse_registry_csv",
    "read_registry_csv_file",
]
