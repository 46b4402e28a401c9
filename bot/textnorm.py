"""Text folding for matching: æ/ø/å and their ASCII spellings compare equal; originals are kept."""

from __future__ import annotations

import re
import unicodedata

# Norwegian letters and their conventional ASCII transcriptions fold to one form, so
# "Bærum", "Baerum" and "Barum" all meet, as do "Ålesund", "Aalesund" and "Alesund".
_LETTER_FOLD = str.maketrans(
    {"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss"}
)
_DIGRAPH_FOLD = (("aa", "a"), ("ae", "a"), ("oe", "o"))
_NON_WORD = re.compile(r"[^0-9a-z@.\-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode line separators and invisible format controls (direction marks, bidi embeddings,
# overrides and isolates, the Arabic letter mark, BOM), as the body of a regex character
# class: every stored text (registry, chat edits, config values) refuses them.
FORMAT_CONTROLS = r"\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff"


def strip_controls(text: str) -> str:
    """Replace control characters (other than tab and newline) with spaces."""
    return _CONTROL.sub(" ", text)


def fold(text: str) -> str:
    """Fold text for comparison: lower case, Norwegian letters and accents to ASCII, digraphs
    aa/ae/oe collapsed, punctuation to single spaces."""
    lowered = strip_controls(text).casefold().translate(_LETTER_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    for digraph, single in _DIGRAPH_FOLD:
        ascii_only = ascii_only.replace(digraph, single)
    return " ".join(_NON_WORD.sub(" ", ascii_only).split())


def slug(text: str) -> str:
    """A stable ASCII key for a name: 'Bodø kommune' -> 'bodo-kommune'."""
    lowered = strip_controls(text).casefold().translate(_LETTER_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "-".join(re.sub(r"[^0-9a-z]+", " ", ascii_only).split())
