"""Reading one inbound message: headers, the ledger key, the text a person wrote, calendar parts.

Anything that makes a message unreadable (broken MIME, an unknown charset, a part larger than
the limit, no Message-ID) raises `Unreadable` with the reason, so the caller can hand the
message to a person instead of guessing.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
_MSGID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


class Unreadable(ValueError):
    """A message coordbot cannot read; a person has to look at it. `sender` and `subject`
    are filled in when the headers could be read."""

    def __init__(self, reason: str, sender: str = "", subject: str = "") -> None:
        super().__init__(reason)
        self.sender = sender
        self.subject = subject


@dataclass(frozen=True)
class Inbound:
    """One parsed inbound message."""

    raw: bytes
    message: EmailMessage
    message_id: str | None
    key: str
    sender: str  # the From address, lower-cased ("" when none)
    sender_name: str
    subject: str

    def header(self, name: str) -> str:
        """A header's text, unfolded ("" when absent)."""
        value = self.message.get(name)
        return " ".join(str(value).split()) if value is not None else ""

    def addresses(self, *names: str) -> list[str]:
        """The lower-cased addresses of some address headers."""
        fields = [str(v) for name in names for v in self.message.get_all(name, [])]
        return [addr.lower() for _n, addr in getaddresses(fields) if addr]


def ledger_key(raw: bytes, message_id: str | None) -> str:
    """Message-ID when present, else a hash of the bytes."""
    if message_id:
        return message_id[:300]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_message(raw: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Inbound:
    """Parse `raw`; Unreadable with the reason if it cannot be handled without a person."""
    if len(raw) > max_bytes:
        raise Unreadable(f"message of {len(raw)} bytes is larger than {max_bytes}")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; anything it raises is a broken message
        raise Unreadable(f"cannot parse the message: {exc}") from None
    assert isinstance(message, EmailMessage)
    if message.get("From") is None and message.get("Message-ID") is None:
        raise Unreadable("not a mail message: no From and no Message-ID header")
    try:
        ident_header = message.get("Message-ID")
        subject_header = message.get("Subject")
        from_header = message.get("From")
    except Exception as exc:  # a header the policy cannot parse
        raise Unreadable(f"a header cannot be read: {exc}") from None
    found = _MSGID.search(str(ident_header or ""))
    message_id = found.group() if found else None
    name, sender = parseaddr(str(from_header or ""))
    subject = " ".join(_CONTROL.sub(" ", str(subject_header or "")).split())
    try:
        _check_parts(message)
    except Unreadable as exc:
        raise Unreadable(str(exc), sender.strip().lower(), subject) from None
    return Inbound(
        raw=raw,
        message=message,
        message_id=message_id,
        key=ledger_key(raw, message_id),
        sender=sender.strip().lower(),
        sender_name=_CONTROL.sub(" ", name).strip(),
        subject=subject,
    )


def _check_parts(message: EmailMessage) -> None:
    """Broken multiparts and parts in a charset Python does not know are unreadable."""
    for defect in message.defects:
        name = type(defect).__name__
        if name in ("NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect"):
            raise Unreadable(f"broken MIME structure: {name}")
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_maintype() == "text":
            charset = part.get_content_charset()
            if charset:
                try:
                    "".encode(_python_charset(charset))
                except LookupError:
                    raise Unreadable(f"unknown charset {charset!r}") from None


def _python_charset(charset: str) -> str:
    return {"unknown-8bit": "latin-1", "x-unknown": "latin-1"}.get(charset.lower(), charset)


def part_text(part: Message) -> str:
    """A text part decoded with its charset (undecodable bytes replaced)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = _python_charset(part.get_content_charset() or "utf-8")
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        raise Unreadable(f"unknown charset {charset!r}") from None


def calendar_parts(message: EmailMessage) -> list[str]:
    """Every text/calendar (or .ics application/*) part: inline or attached, as clients send
    them (Outlook and Gmail inline in multipart/alternative, Apple and Thunderbird also as
    an attachment)."""
    found: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        if ctype == "text/calendar" or (
            ctype in ("application/ics", "application/octet-stream") and filename.endswith(".ics")
        ):
            text = part_text(part)
            if "BEGIN:VCALENDAR" in text.upper():
                found.append(text)
    return found


# --- the text a person wrote -------------------------------------------------------------


class _HtmlText(HTMLParser):
    """Text of an HTML body: blocks become lines, script/style and quoted blocks are dropped."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table"})
    _SKIP = frozenset({"script", "style", "head", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Start skipping at quoted or invisible blocks; a block starts a line."""
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id")).lower()
        # Gmail's and Outlook's quoted history and signatures are marked in the markup.
        quoted = any(
            mark in classes
            for mark in ("gmail_quote", "gmail_signature", "divrplyfwdmsg", "appendonsend")
        )
        if tag in self._SKIP or quoted or self._skip:
            if tag not in ("br", "img", "hr", "meta", "input"):
                self._skip += 1
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        """End a skipped block or a line."""
        if self._skip:
            self._skip -= 1
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        """Keep text outside skipped blocks."""
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body (quoted history left out)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts)).replace("\xa0", " ")
    return "\n".join(line.strip() for line in text.splitlines())


def body_text(message: EmailMessage) -> str:
    """The message's own text: the text/plain part, or the HTML part made text."""
    plain: Message | None = None
    rich: Message | None = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and rich is None:
            rich = part
    if plain is not None:
        return part_text(plain)
    if rich is not None:
        return html_to_text(part_text(rich))
    return ""


_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"on\b.{0,200}\bwrote:|"  # Gmail, Apple, Thunderbird (en)
    r"den\b.{0,200}\bskrev\b.{0,80}:|"  # Norwegian clients
    r".{0,200}\bskreiv\b.{0,80}:|"
    r"-{2,}\s*original message\s*-{2,}|"
    r"-{2,}\s*opprinnelig melding\s*-{2,}|"
    r"_{10,}|"  # Outlook's rule above the quoted header block
    r"(?:from|fra):\s.+"  # Outlook's quoted header block
    r")\s*$",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new text of a reply: no quoted lines, no attribution and what follows it, no
    signature (after "-- "), blank runs collapsed."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.rstrip() in ("--", "-- "):
            break
        if _ATTRIBUTION.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    out = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


_CLOSING = re.compile(
    r"^(?:mvh|med vennlig hilsen|vennlig hilsen|hilsen|helsing|beste hilsen|best regards|"
    r"kind regards|regards|best|thanks|cheers|sent from my \w+|sendt fra min \w+)\b[ ,.!]*",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:hei|hallo|hi|hello|dear|kjære|god morgen|good morning)\b[^?]{0,40}$", re.I
)


def question_text(message: EmailMessage, subject: str) -> str:
    """What the sender asks: the first line with a question mark in the new text of the body
    (greeting and closing left out), or that text, or the subject when the body is empty."""
    lines: list[str] = []
    for line in strip_quoted(body_text(message)).splitlines():
        line = line.strip()
        if _CLOSING.match(line):
            break
        if line and not _GREETING.match(line):
            lines.append(line)
    asking = [line for line in lines if "?" in line]
    if asking:
        return asking[0]
    if lines:
        return " ".join(lines)
    return re.sub(r"^(?:(?:re|sv|vs|aw|fw|fwd)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
