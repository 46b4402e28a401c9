"""The message catalogues against the code: nothing stale, everything translated in bokmål and
nynorsk, placeholders the same as the msgid's; and the checks catch each kind of fault."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from bot import catalogues
from bot.i18n import LANGUAGES, LOCALE_DIR

REPO = Path(__file__).resolve().parent.parent


def test_the_catalogues_match_the_code_and_are_complete() -> None:
    problems = catalogues.check()
    assert problems == [], "\n".join(map(str, problems)) + "\nrun `make catalogues`"


def test_every_message_of_the_code_is_in_every_catalogue() -> None:
    # Extraction from the source itself, compared with each .po file, so a msgid added to the
    # code without its translations fails here.
    messages = catalogues.extract()
    assert "I found no answer to that." in messages
    assert messages["{n} minute before"] == ("{n} minute before", "{n} minutes before")
    for lang in LANGUAGES:
        have = {catalogues._ids(m)[0] for m in catalogues.read(lang) if m.id}
        assert have == set(messages), lang


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the sources and catalogues to break."""
    for directory in catalogues.SOURCE_DIRS:
        shutil.copytree(REPO / directory, tmp_path / directory, ignore=_no_caches)
    return tmp_path, tmp_path / "bot" / "locale"


def _no_caches(_directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


def _whats(problems: list[catalogues.Problem]) -> set[tuple[str, str, str]]:
    return {(p.lang, p.msgid, p.what) for p in problems}


def test_a_new_message_in_the_code_makes_the_catalogues_stale(tree: tuple[Path, Path]) -> None:
    root, locale = tree
    assert catalogues.check(root, locale) == []
    (root / "bot" / "extra.py").write_text(
        "from bot.i18n import gettext\n\n\ndef f(lang: str) -> str:\n"
        '    return gettext(lang, "A brand new message")\n',
        encoding="utf-8",
    )
    found = _whats(catalogues.check(root, locale))
    assert {
        (lang, "A brand new message", "in the code, not in the catalogue") for lang in LANGUAGES
    } <= found
    # `make catalogues` adds it, empty: still red until it is translated in nb and nn.
    catalogues.update(root, locale)
    found = _whats(catalogues.check(root, locale))
    assert found == {
        ("nb", "A brand new message", "not translated"),
        ("nn", "A brand new message", "not translated"),
    }


def test_a_message_gone_from_the_code_is_reported(tree: tuple[Path, Path]) -> None:
    root, locale = tree
    source = root / "bot" / "chat" / "service.py"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace('"Commands:"', '"Commands, all of them:"'), encoding="utf-8")
    found = _whats(catalogues.check(root, locale))
    assert ("nn", "Commands:", "in the catalogue, no longer in the code") in found
    catalogues.update(root, locale)
    po = catalogues.po_path("nb", locale).read_text(encoding="utf-8")
    assert 'msgid "Commands:"' not in po and "#~" not in po
    assert 'msgid "Commands, all of them:"' in po


def test_untranslated_fuzzy_and_wrong_placeholders_are_caught() -> None:
    catalog = Catalog(locale="nn", domain="coordbot")
    catalog.add("Hello {name}!", "Hei {name}!")
    catalog.add("No role “{role}”.", "")
    catalog.add("Ask {who}", "Spør {kven}")
    catalog.add("{place} is in the programme.", "Han er med i programmet.")
    catalog.add("Moved: {event}", "Flytta: {event}", flags=["fuzzy"])
    catalog.add(("{n} day before", "{n} days before"), ("{n} dag før", "dagar før"))
    catalog.add(("{n} hour before", "{n} hours before"), ("éin time før", "{n} timar før"))
    catalog.add("{Role} of {place}", "{Role} i {place}")
    found = _whats(catalogues.check_translations("nn", catalog))
    assert found == {
        ("nn", "No role “{role}”.", "not translated"),
        ("nn", "Ask {who}", "unknown placeholders ['kven']"),
        ("nn", "Ask {who}", "missing placeholders ['who']"),
        ("nn", "{place} is in the programme.", "missing placeholders ['place']"),
        ("nn", "Moved: {event}", "fuzzy"),
        ("nn", "{n} day before", "missing placeholders ['n']"),
    }


def test_the_check_command_fails_on_an_untranslated_entry(tree: tuple[Path, Path]) -> None:
    root, locale = tree
    po = catalogues.po_path("nn", locale)
    text = po.read_text(encoding="utf-8")
    broken = text.replace('msgstr "Eg svarar på nynorsk."', 'msgstr ""')
    assert broken != text
    po.write_text(broken, encoding="utf-8")
    found = _whats(catalogues.check(root, locale))
    assert found == {("nn", "I will reply in English.", "not translated")}


def test_make_lint_runs_the_catalogue_check() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "-m bot.catalogues check" in lint
    done = subprocess.run(
        [sys.executable, "-m", "bot.catalogues", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert LOCALE_DIR == REPO / "bot" / "locale"


def test_a_message_inside_an_f_string_is_reported(tree: tuple[Path, Path]) -> None:
    # The extractor sees an f-string as one token: this msgid would silently stay English.
    root, locale = tree
    (root / "handlers" / "extra.py").write_text(
        "from bot.i18n import gettext\n\n\ndef f(lang: str, n: int) -> str:\n"
        "    return f\"{gettext(lang, 'before')}: {n}\"\n",
        encoding="utf-8",
    )
    found = _whats(catalogues.check(root, locale))
    assert found == {("code", "handlers/extra.py:5", "translated inside an f-string")}
