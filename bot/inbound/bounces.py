"""Bounces: a signed return path per message (VERP), RFC 3464 delivery reports, address holds.

Every outbox e-mail goes out with the envelope sender `<local>+bounces-<row id>-<mac>@<domain>`
(from `inbound.address`; the MAC is an HMAC with the key the unsubscribe links use), so a
bounce maps to its outbox row even when it is not a standard report. A permanent failure
(5.x.x) marks the row `failed` with the server's reason and puts the address on hold;
temporary failures (4.x.x) are counted, and `TEMPORARY_LIMIT` in a row put it on hold too.
Reminders and broadcasts report a held address unreachable until the registry has another.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Database
from bot.delivery.models import EMAIL, FAILED, OutboxMessage
from bot.inbound.models import AddressHold, TemporaryFailure
from bot.inbound.parse import Inbound, part_text
from bot.registry.data import RegistryData
from bot.registry.quality import Finding

TEMPORARY_LIMIT = 3
_TOKEN = re.compile(rb"\+bounces-(\d{1,12})-([0-9a-f]{16})@", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status|delivery failure|failure notice|returned mail|"
    r"mail delivery failed|kunne ikke leveres|ikke levert|levering mislyktes",
    re.IGNORECASE,
)

Signer = Callable[[bytes], bytes]


def _mac(sign: Signer, row_id: int) -> str:
    return sign(f"bounce:{row_id}".encode()).hex()[:16]


def return_path(inbound_address: str, row_id: int, sign: Signer) -> str:
    """The signed envelope sender of outbox row `row_id`."""
    local, _, domain = inbound_address.partition("@")
    return f"{local}+bounces-{row_id}-{_mac(sign, row_id)}@{domain}"


def hmac_signer(key: bytes) -> Signer:
    """HMAC-SHA256 with `key`."""
    return lambda payload: hmac.new(key, payload, hashlib.sha256).digest()


def verp_row_id(raw: bytes, sign: Signer) -> int | None:
    """The outbox row a signed return path anywhere in the message names (headers of the
    bounce, or the returned original); None when there is none with a valid signature."""
    for match in _TOKEN.finditer(raw):
        row_id = int(match.group(1))
        if hmac.compare_digest(match.group(2).decode().lower(), _mac(sign, row_id)):
            return row_id
    return None


@dataclass(frozen=True)
class Failure:
    """One recipient a delivery report is about."""

    address: str
    status: str  # enhanced status code, e.g. "5.1.1"
    reason: str
    permanent: bool


def is_bounce(message: Inbound) -> bool:
    """A delivery report: multipart/report with delivery-status, or a mailer-daemon's
    message about a failed delivery."""
    msg = message.message
    if msg.get_content_type() == "multipart/report":
        return True
    if any(p.get_content_type() == "message/delivery-status" for p in msg.walk()):
        return True
    local = message.sender.split("@", 1)[0]
    robot = not message.sender or local in ("mailer-daemon", "postmaster")
    return robot and bool(_BOUNCE_SUBJECT.search(message.subject))


def _fields(block: Message) -> dict[str, str]:
    return {k.lower(): " ".join(str(v).split()) for k, v in block.items()}


def _after_type(value: str) -> str:
    """ "rfc822; a@b" -> "a@b"; "smtp; 550 ..." -> "550 ..."."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def report_failures(message: EmailMessage) -> list[Failure]:
    """The failed or delayed recipients of an RFC 3464 report (empty when there is none)."""
    failures: list[Failure] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks: list[Message] = (
            [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
        )
        if not blocks:  # some servers send it as text; parse the blocks ourselves
            text = part_text(part) if not isinstance(payload, list) else ""
            blocks = [email.message_from_string(b) for b in re.split(r"\r?\n\r?\n", text) if b]
        for block in blocks[1:] if len(blocks) > 1 else blocks:
            fields = _fields(block)
            action = fields.get("action", "").lower()
            status = fields.get("status", "")
            address = _after_type(
                fields.get("final-recipient") or fields.get("original-recipient", "")
            )
            if not address or action not in ("failed", "delayed"):
                continue
            code = _STATUS.search(status)
            status = code.group() if code else ("5.0.0" if action == "failed" else "4.0.0")
            reason = _after_type(fields.get("diagnostic-code", "")) or status
            failures.append(
                Failure(address.strip("<>").lower(), status, reason, status.startswith("5"))
            )
    return failures


def text_failure(message: EmailMessage, address: str) -> Failure:
    """A failure read from a bounce that is not a standard report: the first enhanced status
    code (or SMTP reply code) in its text; 5.x.x / 5xx is permanent."""
    from bot.inbound.parse import body_text

    text = body_text(message)
    code = _STATUS.search(text)
    if code is not None:
        line = next((ln.strip() for ln in text.splitlines() if code.group() in ln), code.group())
        return Failure(address, code.group(), line[:500], code.group().startswith("5"))
    smtp = _SMTP_CODE.search(text)
    if smtp is not None:
        line = next((ln.strip() for ln in text.splitlines() if smtp.group() in ln), smtp.group())
        status = f"{smtp.group(1)}.0.0"
        return Failure(address, status, line[:500], status.startswith("5"))
    return Failure(address, "4.0.0", "unrecognised bounce: " + message.get("Subject", ""), False)


@dataclass(frozen=True)
class BounceOutcome:
    """What one failure did."""

    address: str
    status: str
    reason: str
    outbox_id: int | None
    held: bool


def apply_failure(
    session: Session, failure: Failure, row: OutboxMessage | None, now: datetime
) -> BounceOutcome:
    """Record one failure: the outbox row and the hold (permanent), or the count (temporary)."""
    address = (row.address if row is not None and not failure.address else failure.address).lower()
    temp = session.get(TemporaryFailure, address)
    held = failure.permanent
    reason = failure.reason
    if not failure.permanent:
        if temp is None:
            temp = TemporaryFailure(address=address, count=0, last_at=now, last_reason="")
            session.add(temp)
        temp.count += 1
        temp.last_at, temp.last_reason = now, failure.reason
        if temp.count >= TEMPORARY_LIMIT:
            held = True
            reason = f"{temp.count} temporary failures in a row, last: {failure.reason}"
    if held:
        if temp is not None:
            session.delete(temp)
        hold = session.get(AddressHold, address)
        if hold is None:
            hold = AddressHold(address=address)
            session.add(hold)
        hold.since, hold.status, hold.reason = now, failure.status, reason[:2000]
        hold.outbox_id = row.id if row is not None else None
        if row is not None and row.address.lower() == address:
            row.status, row.unreachable = FAILED, True
            row.last_error = f"bounced ({failure.status}): {failure.reason}"[:2000]
    return BounceOutcome(address, failure.status, reason, row.id if row else None, held)


def row_for(session: Session, row_id: int | None, address: str | None) -> OutboxMessage | None:
    """The outbox row a bounce is about: the VERP row, else the latest e-mail to `address`."""
    if row_id is not None:
        row = session.get(OutboxMessage, row_id)
        if row is not None:
            return row
    if address:
        return session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel == EMAIL, OutboxMessage.address.ilike(address))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).first()
    return None


# --- reading holds ---------------------------------------------------------------------------


def hold_text(hold: AddressHold, zone: str = "Europe/Oslo") -> str:
    """ "bounced on 2026-12-01: 550 5.1.1 ... " for reports."""
    from zoneinfo import ZoneInfo

    day = hold.since.astimezone(ZoneInfo(zone)).date().isoformat()
    return f"bounced on {day}: {hold.reason}"


def held_addresses(db: Database, zone: str = "Europe/Oslo") -> dict[str, str]:
    """Every held address (lower-cased) -> why, as reports say it."""
    with db.session() as session:
        return {h.address: hold_text(h, zone) for h in session.scalars(select(AddressHold))}


def bounce_findings(db: Database, data: RegistryData, zone: str) -> list[Finding]:
    """A `registry check` warning for every person whose address is on hold."""
    holds = held_addresses(db, zone)
    return [
        Finding(
            "warning",
            "email-bounced",
            "person",
            person.key,
            person.name,
            holds[person.email.lower()],
            f"person {person.key}",
            "email",
            person.email,
        )
        for person in data.people
        if person.email and person.email.lower() in holds
    ]
