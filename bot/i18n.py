"""Every word the bot says, in English, bokmål and nynorsk, and how a user's language is chosen.

Messages are GNU gettext catalogues, one per language, in `bot/locale/LANG/LC_MESSAGES/
coordbot.po`; the English text in the code is the msgid. Call `gettext(lang, "...", **params)`
and `ngettext(lang, "one ...", "{n} ...", n, **params)`; dates and lists go through
`format_date`, `format_datetime` and `format_list` (Babel, CLDR data). The `.po` files are
compiled when first used, so editing one needs no build step. Extraction (`make catalogues`)
looks for the keywords `gettext:2`, `ngettext:2,3` and `N_` (a msgid kept for later, e.g. in
a table); never call them inside an f-string, where extraction cannot see the msgid.
`make lint` checks the catalogues (bot/catalogues.py).
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
import os
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Literal

Lang = Literal["en", "nb", "nn"]
LANGUAGES: tuple[Lang, ...] = ("en", "nb", "nn")
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "coordbot"

# Telegram sends an IETF tag ("nb", "nn", "no", "en-GB"); "no" is written bokmål by most.
_NORWEGIAN_TAGS = {"nb", "no", "nn"}


@functools.cache
def translations(lang: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of `lang` (English and unknown languages: the msgids as they are)."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang not in LANGUAGES or not po_path.exists():
        return gettext_module.NullTranslations()
    return gettext_module.GNUTranslations(io.BytesIO(_compiled(po_path, lang)))


def _compiled(po_path: Path, lang: str) -> bytes:
    """The .mo bytes of a catalogue. Parsing a .po takes tens of milliseconds, which every
    cold `coordbot ask` would pay: the result is kept in the user's cache folder, keyed by
    the .po file's size and change time (compiled in memory when there is no such folder)."""
    stat = po_path.stat()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cached = Path(base) / "coordbot" / f"{lang}-{stat.st_size}-{stat.st_mtime_ns}.mo"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    # Fuzzy entries are drafts: like msgfmt, leave them out so the English shows instead.
    write_mo(compiled, catalog, use_fuzzy=False)
    data = compiled.getvalue()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f"{cached.name}.{os.getpid()}")
        temporary.write_bytes(data)
        os.replace(temporary, cached)
    except OSError:
        pass  # a read-only home: compile again next time
    return data


def gettext(lang: str, message: str, /, **params: object) -> str:
    """`message` (English, the msgid) in `lang`, with `{name}` placeholders filled from params."""
    text = translations(lang).gettext(message)
    return text.format(**params) if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """The form of a counted message for `n` in `lang`; `{n}` is filled in as well as params."""
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def N_(message: str) -> str:
    """Mark `message` for extraction where it is translated later (gettext(lang, message))."""
    return message


def babel_locale(lang: str) -> str:
    """The CLDR locale for a reply language."""
    return lang if lang in ("nb", "nn") else "en_GB"


def format_date(value: date, lang: str, pattern: str = "long") -> str:
    """A date as people write it: "21 February 2020", "21. februar 2020"."""
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, pattern, locale=babel_locale(lang))


def format_datetime(
    value: datetime, lang: str, pattern: str = "long", zone: tzinfo | None = None
) -> str:
    """A date and time in `lang`, shown in `zone` (the value's own zone when None)."""
    from babel.dates import format_datetime as babel_format_datetime

    return babel_format_datetime(
        value, pattern, tzinfo=zone or value.tzinfo, locale=babel_locale(lang)
    )


def format_list(
    items: Sequence[str], lang: str, style: Literal["standard", "or"] = "standard"
) -> str:
    """Items joined as the language does: "Asker, Bærum og Rana", "Asker, Bærum, and Rana"."""
    from babel.lists import format_list as babel_format_list

    if not items:
        return ""
    return babel_format_list(list(items), style=style, locale="en" if lang == "en" else lang)


def language_from_tag(tag: str | None, default: Lang = "en") -> Lang:
    """The UI language for an IETF language tag (Telegram's language_code, a locale)."""
    if not tag:
        return default
    primary = tag.replace("_", "-").split("-")[0].split(".")[0].lower()
    if primary in _NORWEGIAN_TAGS:
        return "nn" if primary == "nn" else "nb"
    if primary in ("", "c", "posix"):
        return default
    return "en"


def parse_language(text: str) -> Lang | None:
    """`en`, `nb` or `nn` from what a user typed after /lang ('no', 'norsk', 'nynorsk', ...)."""
    word = text.strip().lower()
    if word in ("en", "eng", "english", "engelsk"):
        return "en"
    if word in ("nb", "no", "norsk", "norwegian", "bokmål", "bokmal"):
        return "nb"
    if word in ("nn", "nynorsk"):
        return "nn"
    return None


def reply_language(lang: str | None, default: Lang = "en") -> Lang:
    """`lang` if it is one of ours, else `default` (for values read from storage or config)."""
    return lang if lang in LANGUAGES else default
