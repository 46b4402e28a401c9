"""Sending e-mail at once from a command (`coordbot ics invite --send`), through the outbox.

The rows are written and claimed by this process, sent with bot.mail.send_with_retries, and
settled: sent, failed (5xx), or back to pending after the retries (then `coordbot run` keeps
trying). A row the delivery worker already sent is not sent again; one in flight elsewhere is
reported as such. So every message coordbot sends has its outbox row, whoever sends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage

from bot.delivery.models import CANCELLED, EMAIL, SENT
from bot.delivery.outbox import NewMessage, Outbox, Outcome
from bot.mail import Backoff, Mailer, MailResult, Outgoing, send_with_retries

INVITE_SOURCE = "invite"


def invite_message(
    event_key: str,
    sequence: int,
    method: str,
    address: str,
    name: str | None,
    message: EmailMessage,
) -> NewMessage:
    """The outbox row of one iMIP message (one per event, SEQUENCE, method and recipient)."""
    return NewMessage(
        source_kind=INVITE_SOURCE,
        source_id=f"{event_key}|{sequence}|{method}",
        channel=EMAIL,
        recipient=address.strip().lower(),
        recipient_name=name or "",
        address=address.strip(),
        subject=str(message.get("Subject", "")),
        body=message.as_bytes(),
    )


async def send_now(
    outbox: Outbox,
    items: Sequence[tuple[NewMessage, EmailMessage]],
    mailer: Mailer,
    *,
    max_retries: int,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> list[MailResult]:
    """Send `items` now through their outbox rows; one MailResult per item, in order."""
    rows = [row for row, _message in items]
    outbox.enqueue(rows)
    keys = [row.key for row in rows]
    claimed = {c.id for c in outbox.claim_keys(keys)}
    states = outbox.states_by_key(keys)
    mine = [i for i, key in enumerate(keys) if key in states and states[key][0] in claimed]
    results: list[MailResult | None] = [None] * len(items)
    for i, key in enumerate(keys):
        if i in mine:
            continue
        _id, status, error = states.get(key, (0, "", None))
        message_id = str(items[i][1].get("Message-ID", ""))
        recipients = (rows[i].address,)
        if status == SENT:
            results[i] = MailResult(
                message_id, recipients, True, False, None, "already sent from the outbox"
            )
        elif status == CANCELLED:
            results[i] = MailResult(message_id, recipients, False, True, None, error or "cancelled")
        else:
            results[i] = MailResult(
                message_id, recipients, False, False, None, "being sent by another process"
            )
    if mine:
        # The row's bytes, as stored, go out (not the message serialised a second time).
        sent = await send_with_retries(
            mailer,
            [
                Outgoing(
                    rows[i].body,
                    (rows[i].address,),
                    str(rows[i].options.get("envelope_from", "")),
                    str(items[i][1].get("Message-ID", "")),
                )
                for i in mine
            ],
            max_retries=max_retries,
            backoff=backoff,
            sleep=sleep,
        )
        outcomes = []
        for i, result in zip(mine, sent, strict=True):
            results[i] = result
            row_id = states[keys[i]][0]
            if result.ok:
                outcomes.append(Outcome(row_id, "sent"))
            elif result.permanent:
                outcomes.append(Outcome(row_id, "failed", result.reason))
            else:
                outcomes.append(Outcome(row_id, "retry", result.reason))
        await outbox.settle_async(outcomes)
    return [r for r in results if r is not None]
