"""Writing the registry as CSV, checked to read back as the same registry."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import date, datetime

from bot.registry.csvfile.layout import (
    BOM,
    COLUMNS,
    LIST_SEPARATOR,
    RegistryCsvError,
    escape_cell,
)
from bot.registry.csvfile.reader import parse_registry_csv
from bot.registry.data import RegistryData


def export_registry_csv(data: RegistryData) -> str:
    """The registry as CSV text (BOM first, CRLF line ends); raises ValueError rather than
    write a file that would not import back to the same registry."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_export_rows(data))
    text = out.getvalue()
    try:
        again = parse_registry_csv(text.encode("utf-8"), data.timezone, "export")
    except RegistryCsvError as exc:
        raise ValueError(
            "the registry cannot be written as CSV: " + "; ".join(exc.problems)
        ) from None
    if comparable(again) != comparable(data):
        raise ValueError(f"the registry cannot be written as CSV: {_difference(data, again)}")
    return text


def comparable(data: RegistryData) -> RegistryData:
    """`data` without volatile fields (when an event last changed), for equality checks."""
    return replace(data, events=tuple(replace(e, updated_at=None) for e in data.events))


def _difference(wanted: RegistryData, got: RegistryData) -> str:
    for section in fields(RegistryData):
        want, have = getattr(wanted, section.name), getattr(got, section.name)
        if section.compare and want != have and isinstance(want, tuple):
            keys = [w.key for w, h in zip(want, have, strict=False) if w != h]
            return f"{section.name} {', '.join(keys) or '(count)'} would not read back the same"
    return "it would not read back the same"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        for item in value:
            if LIST_SEPARATOR in item or item != item.strip() or not item:
                raise ValueError(f"list item {item!r} cannot be written in a {LIST_SEPARATOR}-list")
        return f"{LIST_SEPARATOR} ".join(value)
    return str(value)


def _export_rows(data: RegistryData) -> Iterable[dict[str, str]]:
    def row(record: str, **values: object) -> dict[str, str]:
        return {"record": record, **{k: escape_cell(_cell(v)) for k, v in values.items()}}

    for r in data.role_types:
        yield row("role_type", key=r.key, name_en=r.name_en, name_nb=r.name_nb, terms=r.terms)
    for m in data.municipalities:
        yield row(
            "municipality",
            key=m.key,
            name=m.name,
            aliases=m.aliases,
            email_domain=m.email_domain,
            batch=m.batch,
        )
    for o in data.organisations:
        yield row(
            "organisation",
            key=o.key,
            name=o.name,
            name_en=o.name_en,
            aliases=o.aliases,
            municipality=o.municipality,
            url=o.url,
            seat_names=o.seat_names,
        )
    for p in data.people:
        yield row(
            "person", key=p.key, name=p.name, email=p.email, phone=p.phone, language=p.language
        )
        for role in p.roles:
            yield row(
                "role",
                person=p.key,
                role=role.role,
                municipality=role.municipality,
                organisation=role.organisation,
                title=role.title,
                source=role.source,
            )
    for a in data.audiences:
        yield row(
            "audience",
            key=a.key,
            name_en=a.name_en,
            name_nb=a.name_nb,
            aliases=a.aliases,
            municipalities=a.municipalities,
            people=a.people,
            roles=a.roles,
            widen=a.widen or None,
        )
    for e in data.events:
        yield row(
            "event",
            key=e.key,
            kind=e.kind,
            title_en=e.title_en,
            title_nb=e.title_nb,
            start=e.start,
            end=e.end,
            location=e.location,
            description_en=e.description_en,
            description_nb=e.description_nb,
            audiences=e.audiences,
            contact_roles=e.contact_roles,
            sequence=e.sequence,
            cancelled=e.cancelled,
            source=e.source,
        )
