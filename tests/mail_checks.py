"""Checks on mail as bytes: a header as it travels, before any parser decodes it."""

from __future__ import annotations

import re

_FOLD = re.compile(rb"\r?\n(?=[ \t])")


def raw_header(data: bytes, name: str) -> bytes:
    """The one `name:` header of a message's header block, unfolded, exactly as sent (no RFC
    2047 decoding: what a mail provider's unsubscribe button reads)."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = _FOLD.sub(b"", head).splitlines()
    prefix = name.lower().encode("ascii") + b":"
    found = [line[len(prefix) :].strip() for line in lines if line.lower().startswith(prefix)]
    assert len(found) == 1, f"{name}: {len(found)} headers in {head!r}"
    return found[0]


# RFC 2369/8058: the HTTPS URL in angle brackets, then the mailto: one, nothing encoded (a
# reader that sees `=?utf-8?q?...?=` offers no unsubscribe button at all).
UNSUBSCRIBE_HEADER = re.compile(
    rb"<(https://kalender\.example\.org/unsubscribe\?token=[A-Za-z0-9%._~-]+)(?:&lang=(?:en|nb|nn))?>"
    rb", <mailto:[A-Za-z0-9.+_-]+@[A-Za-z0-9.-]+\?subject=[A-Za-z0-9%._~-]+>"
)
