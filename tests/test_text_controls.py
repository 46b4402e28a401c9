"""Unicode line separators (U+2028, U+2029, U+0085) and bidi or other invisible format
controls are refused at every entry, with a message naming the code point, and `registry
check` flags any already stored. A config value that cannot be written into a header or a
calendar line is refused when the config is read, not by a crash of `ics feed`."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.delivery.broadcast import BroadcastRefused, check_request
from bot.mail import HeaderValueError, address_header, header_text
from bot.registry.edits.values import EditError, checked_text
from bot.registry.quality import check_registry
from bot.services import Services

UNSAFE = ["\u2028", "\u2029", "\x85", "\u202e", "\u2066", "\u200f", "\ufeff"]


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.mark.parametrize("char", UNSAFE)
def test_csv_import_refuses_the_whole_file_and_names_the_code_point(
    char: str, tmp_path: Path, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:

    assert main(["registry", "export", "-o", str(tmp_path / "r.csv")]) == 0
    text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    changed = text.replace("Gro Sæten", f"Gro{char}Sæten", 1)
    assert changed != text
    (tmp_path / "bad.csv").write_text(changed, encoding="utf-8")
    capsys.readouterr()
    assert main(["registry", "import", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err
    assert f"U+{ord(char):04X}" in err and "Traceback" not in err
    names = {p.name for p in services.registry.snapshot().people}
    assert "Gro Sæten" in names  # nothing was imported


@pytest.mark.parametrize("char", UNSAFE)
def test_chat_edits_and_headers_refuse_them(char: str) -> None:
    with pytest.raises(EditError) as refused:
        checked_text(f"Oslo{char}rådhus", 200)
    assert refused.value.params["code"] == f"U+{ord(char):04X}"
    with pytest.raises(HeaderValueError):
        header_text(f"Møte{char}i dag", "subject")
    with pytest.raises(HeaderValueError):
        address_header(f"Kari{char}Nordmann", "kari@example.org")


def test_broadcast_text_refuses_a_line_separator(services: Services) -> None:
    with pytest.raises(BroadcastRefused, match="U\\+2028"):
        check_request(
            services,
            audience="network",
            channels="email",
            subject="Møte",
            text="Hei\u2028Bcc: alle",
            created_by="t",
        )


def test_registry_check_flags_stored_controls(services: Services) -> None:
    data = services.registry.snapshot()
    people = tuple(
        dataclasses.replace(p, name=p.name.replace(" ", "\u2028", 1))
        if p.key == "gro-saeten"
        else p
        for p in data.people
    )
    events = tuple(
        dataclasses.replace(e, location="Oslo\u202erådhus") if e.key == "network-meeting" else e
        for e in data.events
    )
    findings = check_registry(dataclasses.replace(data, people=people, events=events))
    flagged = {(f.code, f.subject_key, f.field) for f in findings if f.severity == "error"}
    assert ("text-control", "gro-saeten", "name") in flagged
    assert ("text-control", "network-meeting", "location") in flagged
    message = next(f.message for f in findings if f.subject_key == "network-meeting")
    assert "U+202E" in message


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("COORDBOT_CALENDAR_ORGANIZER_NAME", "U4SSC\nNorge", "U+000A"),
        ("COORDBOT_EMAIL_FROM_NAME", "U4SSC\u2028Norge", "U+2028"),
        ("COORDBOT_CALENDAR_ORGANIZER_NAME", "U4SSC \u202eegroN", "U+202E"),
    ],
)
def test_config_values_that_cannot_be_written_are_refused(
    name: str,
    value: str,
    shown: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(shown)):
        load_config()
    assert main(["ics", "feed"]) == 2
    err = capsys.readouterr().err
    assert shown in err and "Traceback" not in err


def test_dkim_settings_go_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COORDBOT_EMAIL_DKIM_SELECTOR", "coordbot")
    with pytest.raises(ConfigError, match="set all three or none"):
        load_config()
