"""Never a mail loop (RFC 3834): what must get no answer, and how many answers a sender gets.

No answer to anything auto-submitted (Auto-Submitted other than "no", Exchange's
X-Auto-Response-Suppress / X-MS-Exchange-Generated-Message-Source marks), sent in bulk or to a
list (Precedence bulk/list/junk, List-Id, List-Unsubscribe from elsewhere), from a null or
mailer-daemon sender, or from one of coordbot's own addresses. Each sender gets at most
`REPLIES_PER_HOUR` answers an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.inbound.models import InboundMessage
from bot.inbound.parse import Inbound

REPLIES_PER_HOUR = 3
_ROBOT_LOCALS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "bounce")


def why_no_answer(message: Inbound, own_addresses: set[str]) -> str | None:
    """The reason `message` must get no automatic answer, or None when it may get one."""
    auto = message.header("Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    precedence = message.header("Precedence").lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    if message.header("List-Id"):
        return "mailing-list message (List-Id)"
    if message.header("X-Autoreply") or message.header("X-Autorespond"):
        return "auto-reply (X-Autoreply)"
    if message.header("X-MS-Exchange-Generated-Message-Source") or (
        message.header("X-Auto-Response-Suppress").lower() in ("all", "oof")
        and message.subject.lower().startswith(("automatic reply", "automatisk svar"))
    ):
        return "Exchange automatic reply"
    return_path = message.header("Return-Path")
    if return_path.replace(" ", "") == "<>":
        return "null return path"
    if not message.sender:
        return "no sender address"
    local = message.sender.split("@", 1)[0]
    if local in _ROBOT_LOCALS or local.startswith(("mailer-daemon", "bounce")):
        return f"automatic sender {message.sender}"
    if message.sender in own_addresses:
        return "sent by coordbot itself"
    return None


def replies_in_last_hour(session: Session, sender: str, now: datetime) -> int:
    """Answers coordbot gave `sender` in the hour before `now`."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(
                InboundMessage.sender == sender,
                InboundMessage.replied.is_(True),
                InboundMessage.handled_at > now - timedelta(hours=1),
            )
        )
        or 0
    )
