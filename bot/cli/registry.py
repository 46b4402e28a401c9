"""`coordbot registry check | import FILE | export`: data quality, atomic CSV import, export."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.cli.support import open_services, print_json
from bot.inbound.bounces import bounce_findings
from bot.registry.csvfile import RegistryCsvError, export_registry_csv, read_registry_csv_file
from bot.registry.data import RegistryData
from bot.registry.quality import SEVERITIES, Finding, check_registry, count_by_severity

_SEVERITY_TITLES = {"error": "Errors", "warning": "Warnings", "info": "Info"}


def cmd_registry(args: argparse.Namespace) -> int:
    """Dispatch `registry check|import|export`; exit 2 when the registry or file is unusable."""
    command = {"check": _check, "import": _import, "export": _export}[args.registry_command]
    try:
        return command(args)
    except SQLAlchemyError as exc:
        print(f"coordbot registry: the registry database cannot be used: {exc}", file=sys.stderr)
        return 2


# --- check ---------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        data = services.registry.snapshot()
        findings = check_registry(data) + bounce_findings(services.db, data, services.zone.key)
    if args.json:
        print_json([f.to_json() for f in findings])
    else:
        print(format_report(findings))
    return 0


def summary_line(findings: list[Finding]) -> str:
    """'2 errors, 11 warnings, 1 info (14 findings)'."""
    counts = count_by_severity(findings)
    errors = f"{counts['error']} error{'' if counts['error'] == 1 else 's'}"
    warnings = f"{counts['warning']} warning{'' if counts['warning'] == 1 else 's'}"
    total = f"{len(findings)} finding{'' if len(findings) == 1 else 's'}"
    return f"{errors}, {warnings}, {counts['info']} info ({total})"


def format_report(findings: list[Finding]) -> str:
    """The readable report: findings grouped by severity, one line each (what, where, why),
    then a summary line."""
    lines = ["Registry data-quality check", ""]
    if not findings:
        lines.append("No findings.")
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        lines.append(f"{_SEVERITY_TITLES[severity]} ({len(group)}):")
        lines += [
            f"  [{f.code}] {f.subject_name} ({f.subject_kind} {f.subject_key}), "
            f"in {f.where}: {f.message}"
            for f in group
        ]
        lines.append("")
    lines.append(f"Summary: {summary_line(findings)}")
    return "\n".join(lines)


# --- import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionChange:
    """How one kind of record changed in an import."""

    label: str
    total: int
    added: list[str]
    removed: list[str]
    changed: list[str]


def compare_registries(before: RegistryData, after: RegistryData) -> list[SectionChange]:
    """Per kind of record: how many there are now, and which keys were added, removed or
    changed (events compared without their change time)."""

    def section(label: str, old: tuple, new: tuple) -> SectionChange:
        old_by, new_by = {r.key: r for r in old}, {r.key: r for r in new}
        return SectionChange(
            label,
            len(new),
            [k for k in new_by if k not in old_by],
            [k for k in old_by if k not in new_by],
            [k for k in new_by if k in old_by and new_by[k] != old_by[k]],
        )

    def events(data: RegistryData) -> tuple:
        return tuple(replace(e, updated_at=None) for e in data.events)

    return [
        section("role types", before.role_types, after.role_types),
        section("municipalities", before.municipalities, after.municipalities),
        section("organisations", before.organisations, after.organisations),
        section("people", before.people, after.people),
        section("audiences", before.audiences, after.audiences),
        section("events", events(before), events(after)),
    ]


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    with open_services(args) as services:
        try:
            bot = services.config.bot
            data = read_registry_csv_file(path, bot.timezone, bot.max_import_bytes)
        except RegistryCsvError as exc:
            print(f"coordbot registry import: {path}: nothing was imported.", file=sys.stderr)
            for problem in exc.csv_problems:
                print(f"  {problem}", file=sys.stderr)
            return 2
        before = services.registry.snapshot()
        services.registry.replace(data)
        after = services.registry.snapshot()
    print(f"Imported {path}: the registry was replaced in one transaction.")
    for change in compare_registries(before, after):
        print(
            f"  {change.label:<15}{change.total:>4}  "
            f"(+{len(change.added)} added, -{len(change.removed)} removed, "
            f"~{len(change.changed)} changed)"
        )
    old_events = before.event_by_key
    cancelled = [
        e.key
        for e in after.events
        if e.cancelled and e.key in old_events and not old_events[e.key].cancelled
    ]
    rescheduled = [
        e.key
        for e in after.events
        if e.key in old_events
        and e.sequence > old_events[e.key].sequence
        and e.key not in cancelled
    ]
    if cancelled:
        print(f"Cancelled (invitees get a CANCEL): {', '.join(cancelled)}")
    if rescheduled:
        print(f"Changed time or place (SEQUENCE raised): {', '.join(rescheduled)}")
    print(f"Data quality: {summary_line(check_registry(after))}; see `coordbot registry check`.")
    return 0


# --- export --------------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        data = services.registry.snapshot()
    try:
        encoded = export_registry_csv(data).encode("utf-8")
    except ValueError as exc:
        print(f"coordbot registry export: {exc}", file=sys.stderr)
        return 2
    if not args.output:
        sys.stdout.flush()
        sys.stdout.buffer.write(encoded)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    try:
        _write_atomically(target, encoded)
    except OSError as exc:
        print(
            f"coordbot registry export: cannot write {target}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    rows = len(list(csv.reader(io.StringIO(encoded.decode("utf-8-sig"))))) - 1
    print(f"Exported {rows} rows to {target}.", file=sys.stderr)
    return 0


def _write_atomically(target: Path, content: bytes) -> None:
    """Write next to the target and rename, so a failed export never leaves half a file.

    The file is created readable by its owner only: the registry holds personal data.
    """
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
