"""Held-out evaluation: every question of tests/data/questions_heldout.toml through the engine as
`coordbot ask --json` runs it (services built from the config, the registry seeded from
bot/data/registry.toml into a throwaway SQLite database, the clock fixed at the row's `now`), checked
against the row's expectation. Prints accuracy overall and per class, and each failure with why.

Run: `python bench/heldout.py [--failures] [--json] [--file tests/data/questions_heldout_2.toml]`.

Checks per row (the file's own conventions, see its `note` fields):
- status: equal, or one of the alternatives of "a|b";
- lang: equal (strict); the "lenient" figure also accepts "nb" for a nynorsk row, since telling
  nynorsk from bokmål is the language detector's job, not the engine's;
- contacts: the exact set of names when the row lists any (a row with [] requires nothing);
- events: the exact set of keys when the row lists any;
- says: every string is a case-insensitive substring of the reply text.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    # Run as a script: the repository root replaces this folder on the path, so other scripts
    # here (bench/calendar.py) never shadow standard-library modules.
    sys.path[0] = str(ROOT)

from bot.clock import FixedClock, parse_now  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.services import Services, build_services  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "questions_heldout.toml"
DEFAULT_NOW = "2026-12-01T10:00"


@dataclass
class Outcome:
    """One row's result: the failed checks (empty when right)."""

    row: dict[str, Any]
    doc: dict[str, Any]
    failed: list[str] = field(default_factory=list)

    @property
    def lang_only(self) -> bool:
        """Wrong only in reporting nynorsk as bokmål."""
        return self.failed == ["lang"] and self.row["lang"] == "nn" and self.doc["lang"] == "nb"


def load_rows(path: Path = HELDOUT) -> list[dict[str, Any]]:
    """The held-out rows."""
    with path.open("rb") as f:
        return list(tomllib.load(f)["q"])


def _statuses(expected: str) -> set[str]:
    """The statuses a row accepts. The second file's writer was told to call "not
    registered" `unknown` (the brief's word, not the contract's); it means `not_found`."""
    return {"not_found" if s == "unknown" else s for s in expected.split("|")}


def check(row: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    """The names of the checks the answer fails."""
    failed = []
    if doc["status"] not in _statuses(row["status"]):
        failed.append("status")
    if doc["lang"] != row["lang"]:
        failed.append("lang")
    names = {c["name"] for c in doc["contacts"]}
    if row.get("contacts") and names != set(row["contacts"]):
        failed.append("contacts")
    keys = {e["key"] for e in doc["events"]}
    if row.get("events") and keys != set(row["events"]):
        failed.append("events")
    text = doc["text"].casefold()
    if any(s.casefold() not in text for s in row.get("says", [])):
        failed.append("says")
    return failed


def open_engine(tmp: Path) -> tuple[Services, FixedClock]:
    """Services as `coordbot ask` builds them, over a throwaway database, on a settable clock."""
    config = load_config(None)
    bot = replace(config.bot, database_url=f"sqlite:///{tmp / 'heldout.db'}", now=DEFAULT_NOW)
    config = replace(config, bot=bot)
    clock = FixedClock(parse_now(DEFAULT_NOW, _zone(config)))
    return build_services(config, clock), clock


def _zone(config: Any) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(config.bot.timezone)


def run(path: Path = HELDOUT) -> list[Outcome]:
    """Every row through the engine."""
    rows = load_rows(path)
    with tempfile.TemporaryDirectory() as tmp:
        services, clock = open_engine(Path(tmp))
        try:
            zone = _zone(services.config)
            out = []
            for row in rows:
                clock.set(parse_now(row.get("now", DEFAULT_NOW), zone))
                doc = services.answers.ask(row["question"], lang=None).to_json()
                out.append(Outcome(row, doc, check(row, doc)))
            return out
        finally:
            services.close()


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Right answers overall and per class, strict and lenient about nynorsk detection."""
    total: Counter[str] = Counter()
    strict: Counter[str] = Counter()
    lenient: Counter[str] = Counter()
    for o in outcomes:
        cls = o.row["class"]
        total[cls] += 1
        strict[cls] += not o.failed
        lenient[cls] += not o.failed or o.lang_only
    return {
        "total": len(outcomes),
        "strict": sum(strict.values()),
        "lenient": sum(lenient.values()),
        "classes": {c: (strict[c], lenient[c], total[c]) for c in total},
    }


def main(argv: list[str] | None = None) -> int:
    """Print the accuracy table (and the failures when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list every failed row")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--file", type=Path, default=HELDOUT, help="the question file (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    outcomes = run(args.file)
    s = summary(outcomes)
    if args.json:
        print(json.dumps(s, ensure_ascii=False, indent=2))
        return 0
    if args.failures:
        for o in outcomes:
            if o.failed and not o.lang_only:
                names = [c["name"] for c in o.doc["contacts"]]
                keys = [e["key"] for e in o.doc["events"]]
                print(f"[{o.row['class']}] {o.row['question']!r} ({o.row.get('now', '')})")
                print(f"   failed {o.failed}: got {o.doc['status']} {o.doc['lang']} {names} {keys}")
                print(
                    f"   want {o.row['status']} {o.row.get('contacts')} {o.row.get('events')}"
                    f" says={o.row.get('says')}"
                )
                print("   " + o.doc["text"].replace("\n", "\n   "))
    n = s["total"]
    print(f"{'class':<14}{'strict':>10}{'lenient':>10}{'of':>5}")
    for cls, (st, le, tot) in s["classes"].items():
        print(f"{cls:<14}{st:>10}{le:>10}{tot:>5}")
    print(
        f"{'all':<14}{s['strict']:>10}{s['lenient']:>10}{n:>5}"
        f"   strict {s['strict'] / n:.1%}, lenient (nn reported as nb) {s['lenient'] / n:.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
