"""Keeping the message catalogues in step with the code: extract, update and check.

`python -m bot.catalogues update` (what `make catalogues` runs) extracts every message from
bot/, handlers/ and schedules/ (the keywords `gettext:2`, `ngettext:2,3` and `N_`) and merges
it into bot/locale/{en,nb,nn}/LC_MESSAGES/coordbot.po: new messages get empty entries to
translate, messages no longer in the code are dropped. `python -m bot.catalogues check` (run
by `make lint`) fails when a catalogue is stale, when a bokmål or nynorsk entry is empty or
fuzzy, or when a translation's placeholders differ from its msgid's.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog, Message

ROOT = LOCALE_DIR.parent.parent
SOURCE_DIRS = ("bot", "handlers", "schedules")
# Babel's keyword spec: argument positions (1-based) of the msgid and plural; None = first.
KEYWORDS: dict[str, tuple[int, ...] | None] = {"gettext": (2,), "ngettext": (2, 3), "N_": None}
# Languages whose every entry must be translated (English is the msgid itself).
TRANSLATED = ("nb", "nn")
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:![rsa])?(?::[^{}]*)?\}")


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """The .po file of `lang`."""
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


MsgId = str | tuple[str, str]


def extract(root: Path = ROOT) -> dict[str, MsgId]:
    """Every message the code passes to gettext/ngettext/N_: {msgid: msgid or (singular,
    plural)}, in the order found."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, MsgId] = {}
    for directory in SOURCE_DIRS:
        for _file, _line, message, _comments, _context in extract_from_dir(
            root / directory,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            strip_comment_tags=True,
        ):
            if isinstance(message, tuple):
                singular, plural = message[0], message[1]
                if singular and plural:
                    found.setdefault(singular, (singular, plural))
            elif message:
                found.setdefault(message, message)
    return found


def read(lang: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    """The catalogue of `lang` as it is on disk."""
    from babel.messages.pofile import read_po

    with po_path(lang, locale_dir).open("rb") as po_file:
        return read_po(po_file, locale=lang, domain=DOMAIN)


def write(lang: str, catalog: Catalog, locale_dir: Path = LOCALE_DIR) -> None:
    """Write `lang`'s catalogue (no source locations: they change with every edit)."""
    from babel.messages.pofile import write_po

    with po_path(lang, locale_dir).open("wb") as po_file:
        write_po(po_file, catalog, width=100, no_location=True, ignore_obsolete=True)


def update(root: Path = ROOT, locale_dir: Path = LOCALE_DIR) -> None:
    """Merge the code's messages into every catalogue; drop messages the code no longer has."""
    from babel.messages.catalog import Catalog

    messages = extract(root)
    for lang in LANGUAGES:
        old = read(lang, locale_dir)
        new = Catalog(locale=lang, domain=DOMAIN, project="coordbot", fuzzy=False)
        new.mime_headers = old.mime_headers
        for msgid in messages.values():
            key = msgid[0] if isinstance(msgid, tuple) else msgid
            existing = old.get(key)
            string: str | tuple[str, ...] = ""
            if isinstance(msgid, tuple):
                string = ("",) * new.num_plurals
            if existing is not None and len(_ids(existing)) == (
                2 if isinstance(msgid, tuple) else 1
            ):
                kept = _strings(existing)
                string = kept if isinstance(msgid, tuple) else kept[0]
            new.add(msgid, string)
        write(lang, new, locale_dir)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalogue."""

    lang: str
    msgid: str
    what: str

    def __str__(self) -> str:
        if self.lang == "code":
            return f"{self.msgid}: {self.what}"
        return f"{self.lang}/LC_MESSAGES/{DOMAIN}.po: {self.msgid!r}: {self.what}"


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders of a message, first letter lowered ({Role} is {role})."""
    return {name[0].lower() + name[1:] for name in _PLACEHOLDER.findall(text)}


def _entries(catalog: Catalog) -> Iterable[Message]:
    return (message for message in catalog if message.id)


def _ids(message: Message) -> tuple[str, ...]:
    """(msgid,) or (msgid, msgid_plural)."""
    ids = message.id
    return tuple(str(i) for i in ids) if isinstance(ids, list | tuple) else (str(ids),)


def _strings(message: Message) -> tuple[str, ...]:
    """(msgstr,) or the plural msgstr[i]."""
    strings = message.string
    if isinstance(strings, list | tuple):
        return tuple(str(s or "") for s in strings)
    return (str(strings or ""),)


def check_translations(lang: str, catalog: Catalog) -> list[Problem]:
    """Empty or fuzzy entries, Babel's checkers, and placeholders that differ from the msgid."""
    problems: list[Problem] = []
    for message in _entries(catalog):
        ids, strings = _ids(message), _strings(message)
        if message.fuzzy:
            problems.append(Problem(lang, ids[0], "fuzzy"))
        if lang in TRANSLATED and not all(strings):
            problems.append(Problem(lang, ids[0], "not translated"))
        for error in message.check(catalog):
            problems.append(Problem(lang, ids[0], str(error)))
        wanted = set().union(*(placeholders(i) for i in ids))
        for index, string in enumerate(s for s in strings if s):
            got = placeholders(string)
            if got - wanted:
                problems.append(
                    Problem(lang, ids[0], f"unknown placeholders {sorted(got - wanted)}")
                )
            # The singular form may leave out the count ("one message"); every other form
            # must keep every placeholder.
            must = placeholders(ids[-1]) if len(ids) > 1 else wanted
            if len(ids) > 1 and index == 0 and len(strings) > 1:
                must = placeholders(ids[0]) - {"n"}
            if must - got:
                problems.append(Problem(lang, ids[0], f"missing placeholders {sorted(must - got)}"))
    return problems


def check(root: Path = ROOT, locale_dir: Path = LOCALE_DIR) -> list[Problem]:
    """Everything wrong with the catalogues: stale (code and catalogue disagree), obsolete
    entries, untranslated, fuzzy, or placeholders that do not match."""
    messages = extract(root)
    problems: list[Problem] = []
    for lang in LANGUAGES:
        text = po_path(lang, locale_dir).read_text(encoding="utf-8")
        if re.search(r"^#~", text, re.MULTILINE):
            problems.append(Problem(lang, "", "obsolete (#~) entries; run `make catalogues`"))
        catalog = read(lang, locale_dir)
        have = {_ids(m)[0]: m for m in _entries(catalog)}
        for key, msgid in messages.items():
            entry = have.get(key)
            if entry is None:
                problems.append(Problem(lang, key, "in the code, not in the catalogue"))
            elif _ids(entry) != (msgid if isinstance(msgid, tuple) else (msgid,)):
                problems.append(Problem(lang, key, "plural forms differ from the code"))
        for key in have.keys() - messages.keys():
            problems.append(Problem(lang, key, "in the catalogue, no longer in the code"))
        problems += check_translations(lang, catalog)
    problems += hidden_messages(root)
    return problems


# A call inside an f-string is one string token to the extractor, so its msgid is never
# extracted (and the text stays English); the check reports such calls.
_IN_FSTRING = re.compile(r"""\{\s*(?:n?gettext|N_)\(""")


def hidden_messages(root: Path = ROOT) -> list[Problem]:
    """gettext/ngettext/N_ calls written inside an f-string, where extraction cannot see them."""
    problems = []
    for directory in SOURCE_DIRS:
        for path in sorted((root / directory).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _IN_FSTRING.search(line):
                    where = f"{path.relative_to(root)}:{number}"
                    problems.append(Problem("code", where, "translated inside an f-string"))
    return problems


def main(argv: list[str]) -> int:
    """`update` or `check` (the default); check prints each problem and exits 1 on any."""
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        print(f"updated {', '.join(str(po_path(lang).relative_to(ROOT)) for lang in LANGUAGES)}")
        return 0
    if command != "check":
        print("usage: python -m bot.catalogues [update|check]", file=sys.stderr)
        return 2
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"problems in the catalogues: {len(problems)}", file=sys.stderr)
        return 1
    print(f"catalogues ok: {len(extract())} messages in {', '.join(LANGUAGES)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
