"""The answer index of `coordbot ask` as a file that is read by key: a SQLite database of its
own, in which every per-person table (phrases, name parts, addresses, holdings, the people
themselves) is stored entry by entry and the rest of the index as one pickle. Entries are
plain values (strings, numbers, tuples, sets) and are written with `marshal`, which reads them
back about twice as fast as pickle and in half the space.

A cold ask then reads the few entries its question looks up instead of unpickling the whole
index: at 100,000 contacts a single pickle took 0.7 s to load, most of it making 100,000
people nobody asked about. Entries are made once, on first use, and kept, so an entry read
twice is the same object (the engine compares some by identity). Iterating over a table, which
few questions do, reads its keys in their original order.

The file is written once, into a fresh temporary file that replaces the old one whole, and
only ever read after that: it is opened immutable, without locks.
"""

from __future__ import annotations

import ast
import marshal
import pickle
import sqlite3
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, overload

from bot.answering.index import HOLDING_TABLES, Holding, Index
from bot.registry.data import PersonRec, RegistryData, RoleRec

# The index's tables with an entry per person or per word of a name: stored entry by entry.
INDEX_TABLES = ("phrases", "person_words", "emails", "person_order", "name_parts")
# The registry snapshot's people lookups: stored as positions of people.
DATA_TABLES = ("_holdings", "_at_place", "_by_address")
# Made from the people and positions when read, never stored.
DATA_DERIVED = ("person_by_key", "_positions")

SCHEMA = (
    "CREATE TABLE header (fingerprint TEXT NOT NULL, generation INTEGER NOT NULL)",
    "CREATE TABLE part (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE entry (tab INTEGER NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,"
    " value BLOB NOT NULL,"
    " PRIMARY KEY (tab, key)) WITHOUT ROWID",
    "CREATE TABLE person (position INTEGER PRIMARY KEY, value BLOB NOT NULL)",
)
_MISSING = object()


def _encoded(key: Hashable) -> str:
    """A table key as stored: strings as themselves, anything else (tuples) by its repr after
    a character no word has, so the two cannot be confused."""
    return key if isinstance(key, str) else "\x1f" + repr(key)


def _decoded(stored: str) -> Hashable:
    """The key `_encoded` stored."""
    return ast.literal_eval(stored[1:]) if stored.startswith("\x1f") else stored


def _person_values(person: PersonRec) -> tuple[Any, ...]:
    """A person as plain values: its fields in order, each role as its fields in order."""
    return tuple(
        tuple(tuple(getattr(r, f.name) for f in fields(r)) for r in value)
        if f.name == "roles"
        else value
        for f in fields(person)
        for value in (getattr(person, f.name),)
    )


def _person(values: tuple[Any, ...]) -> PersonRec:
    """The person `_person_values` gave."""
    made = dict(zip((f.name for f in fields(PersonRec)), values, strict=True))
    made["roles"] = tuple(RoleRec(*role) for role in made["roles"])
    return PersonRec(**made)


def _dumps(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _compact_holdings(
    index: Index, holdings: Mapping[Hashable, list[Holding]]
) -> dict[Hashable, tuple[int, ...]]:
    """A holdings table as (person's position, role's position) pairs, flattened."""
    order = index.person_order
    return {
        key: tuple(n for h in held for n in (order[h.person.key], h.person.roles.index(h.role)))
        for key, held in holdings.items()
        if held
    }


def write_store(path: Path, index: Index, fingerprint: str, generation: int) -> None:
    """Write `index` into the empty file `path` (created by the caller, owner-only)."""
    state: dict[str, Any] = dict(index.__dict__)
    data: RegistryData = state.pop("data")
    holdings = {name: _compact_holdings(index, state.pop(name)) for name in HOLDING_TABLES}
    tables: dict[str, Mapping[Hashable, Any]] = {
        name: state.pop(name) for name in INDEX_TABLES if name in state
    }
    tables.update({f"holdings:{name}": table for name, table in holdings.items()})
    people: Sequence[PersonRec] = data.people
    order = {person.key: i for i, person in enumerate(people)}
    data_state = {k: v for k, v in data.__dict__.items() if k not in DATA_DERIVED}
    data_state.pop("people")
    for name in DATA_TABLES:
        data_state.pop(name, None)
        grouped: Mapping[str, tuple[PersonRec, ...]] = getattr(data, name)
        tables[f"data:{name}"] = {
            key: tuple(order[p.key] for p in group) for key, group in grouped.items()
        }
    connection = sqlite3.connect(path)
    try:
        # A private file that replaces the old one only when complete: no journal needed.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        for statement in SCHEMA:
            connection.execute(statement)
        connection.execute("INSERT INTO header VALUES (?, ?)", (fingerprint, generation))
        parts = {
            "index": state,
            "data": data_state,
            "count": len(people),
            "tables": {name: number for number, name in enumerate(tables)},
        }
        connection.executemany(
            "INSERT INTO part VALUES (?, ?)", ((k, _dumps(v)) for k, v in parts.items())
        )
        connection.executemany(
            "INSERT INTO entry VALUES (?, ?, ?, ?)",
            (
                (number, _encoded(key), seq, marshal.dumps(value))
                for number, table in enumerate(tables.values())
                for seq, (key, value) in enumerate(table.items())
            ),
        )
        connection.executemany(
            "INSERT INTO person VALUES (?, ?)",
            ((i, marshal.dumps(_person_values(p))) for i, p in enumerate(people)),
        )
        connection.commit()
    finally:
        connection.close()


def read_header(path: Path) -> tuple[str, int] | None:
    """The (code fingerprint, registry generation) a store was written for; None when the
    file is no store."""
    connection = _open(path)
    if connection is None:
        return None
    try:
        return _header(connection)
    finally:
        connection.close()


def _open(path: Path) -> sqlite3.Connection | None:
    try:
        return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None


def _header(connection: sqlite3.Connection) -> tuple[str, int] | None:
    try:
        row = connection.execute("SELECT fingerprint, generation FROM header").fetchone()
    except sqlite3.Error:
        return None
    return (str(row[0]), int(row[1])) if row else None


def read_store(path: Path, fingerprint: str, generation: int) -> tuple[Index, Closer] | None:
    """The index kept in `path` and the function that closes the file after the last look-up
    (the index reads from it lazily); None when the file is not a store for this code and
    this registry generation, or cannot be read."""
    connection = _open(path)
    if connection is None:
        return None
    try:
        if _header(connection) != (fingerprint, generation):
            connection.close()
            return None
        parts = dict(connection.execute("SELECT name, value FROM part"))
        state: dict[str, Any] = pickle.loads(parts["index"])
        data_state: dict[str, Any] = pickle.loads(parts["data"])
        count: int = pickle.loads(parts["count"])
        numbers: dict[str, int] = pickle.loads(parts["tables"])
    except (sqlite3.Error, pickle.UnpicklingError, KeyError, EOFError, AttributeError,
            ImportError, TypeError):  # fmt: skip
        connection.close()
        return None
    people = StoredPeople(connection, count)

    def table(name: str, decode: Callable[[Any], Any] | None = None) -> StoredTable:
        return StoredTable(connection, numbers.get(name, -1), decode)

    def group(positions: tuple[int, ...]) -> tuple[PersonRec, ...]:
        return tuple(people[i] for i in positions)

    positions = table("person_order")
    data = RegistryData.__new__(RegistryData)
    data.__dict__.update(data_state)
    data.__dict__.update(
        people=people, _positions=positions, person_by_key=PeopleByKey(positions, people)
    )
    data.__dict__.update({name: table(f"data:{name}", group) for name in DATA_TABLES})
    index = Index.__new__(Index)
    index.__dict__.update(state)
    index.data = data
    index.__dict__.update({name: table(name) for name in INDEX_TABLES})
    index.__dict__.update(
        {name: LazyHoldings(table(f"holdings:{name}"), people) for name in HOLDING_TABLES}
    )
    return index, connection.close


Closer = Callable[[], None]


class StoredTable(Mapping[Hashable, Any]):
    """One stored table, read entry by entry as it is looked up."""

    def __init__(
        self, connection: sqlite3.Connection, number: int, decode: Callable[[Any], Any] | None
    ) -> None:
        self._connection = connection
        self._number = number
        self._decode = decode
        self._made: dict[Hashable, Any] = {}
        self._keys: list[Hashable] | None = None

    def _entry(self, key: object) -> Any:
        try:
            return self._made[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable key is in no table
            return _MISSING
        row = self._connection.execute(
            "SELECT value FROM entry WHERE tab = ? AND key = ?",
            (self._number, _encoded(key)),
        ).fetchone()
        if row is None:
            value: Any = _MISSING
        else:
            value = marshal.loads(row[0])
            if self._decode is not None:
                value = self._decode(value)
        self._made[key] = value
        return value

    def __getitem__(self, key: Hashable) -> Any:
        value = self._entry(key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The entry under `key`, or `default`."""
        value = self._entry(key)
        return default if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        return self._entry(key) is not _MISSING

    def _all_keys(self) -> list[Hashable]:
        if self._keys is None:
            rows = self._connection.execute(
                "SELECT key FROM entry WHERE tab = ? ORDER BY seq", (self._number,)
            )
            self._keys = [_decoded(key) for (key,) in rows]
        return self._keys

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._all_keys())

    def __len__(self) -> int:
        return len(self._all_keys())


class LazyHoldings:
    """A holdings table read back from the store: positions of people and their roles, turned
    into Holding lists only for the keys a question asks about."""

    def __init__(
        self, compact: Mapping[Hashable, tuple[int, ...]], people: Sequence[PersonRec]
    ) -> None:
        self._compact = compact
        self._people = people
        self._made: dict[Hashable, list[Holding]] = {}

    def get(self, key: Hashable, default: list[Holding] | None = None) -> list[Holding] | None:
        """The holdings filed under `key`, or `default`."""
        made = self._made.get(key)
        if made is None:
            flat = self._compact.get(key)
            if flat is None:
                return default
            people = self._people
            made = self._made[key] = [
                Holding(people[flat[i]], people[flat[i]].roles[flat[i + 1]])
                for i in range(0, len(flat), 2)
            ]
        return made

    def __getitem__(self, key: Hashable) -> list[Holding]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._compact

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._compact)

    def __len__(self) -> int:
        return len(self._compact)

    def keys(self) -> Iterable[Hashable]:
        """Every key, as a dict has them."""
        return self._compact.keys()

    def items(self) -> Iterator[tuple[Hashable, list[Holding]]]:
        """(key, holdings) for every key, each list made now."""
        return ((key, self[key]) for key in self._compact)

    def values(self) -> Iterator[list[Holding]]:
        """Every key's holdings, each list made now."""
        return (self[key] for key in self._compact)


class StoredPeople(Sequence[PersonRec]):
    """The registry's people in registry order, each read when first asked for."""

    def __init__(self, connection: sqlite3.Connection, count: int) -> None:
        self._connection = connection
        self._count = count
        self._made: dict[int, PersonRec] = {}

    @overload
    def __getitem__(self, position: int) -> PersonRec: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[PersonRec, ...]: ...

    def __getitem__(self, position: int | slice) -> PersonRec | tuple[PersonRec, ...]:
        if isinstance(position, slice):
            return tuple(self[i] for i in range(*position.indices(self._count)))
        if position < 0:
            position += self._count
        if not 0 <= position < self._count:
            raise IndexError(position)
        person = self._made.get(position)
        if person is None:
            row = self._connection.execute(
                "SELECT value FROM person WHERE position = ?", (position,)
            ).fetchone()
            person = self._made[position] = _person(marshal.loads(row[0]))
        return person

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[PersonRec]:
        if len(self._made) < self._count:  # everyone at once, not one query each
            for position, value in self._connection.execute("SELECT position, value FROM person"):
                if position not in self._made:
                    self._made[position] = _person(marshal.loads(value))
        return (self._made[i] for i in range(self._count))


class PeopleByKey(Mapping[str, PersonRec]):
    """People by key, made from the stored positions and people."""

    def __init__(self, positions: StoredTable, people: StoredPeople) -> None:
        self._positions = positions
        self._people = people

    def __getitem__(self, key: str) -> PersonRec:
        return self._people[self._positions[key]]

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)
