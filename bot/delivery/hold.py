"""Delivery safety (DESIGN.md): outbox messages reach a real person only when the operator
said so. E-mail needs `email.smtp_host` and `email.from_address` set explicitly (config file or
environment, not the defaults), Telegram a token, and while `bot.now` is fixed nothing goes
out unless `delivery.send_with_fixed_clock = true`. Until then rows wait in status `held`.

Replies in a conversation a user started (chat answers) never pass through the outbox, so
they are never held.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, update

from bot.config import Config
from bot.db import Database
from bot.delivery.models import EMAIL, HELD, PENDING, TELEGRAM, OutboxMessage

log = logging.getLogger("coordbot.delivery")

# The code at the start of a held row's last_error: which rule held it. Rows held for the
# fixed clock are released only by a run that may send with a fixed clock, so messages
# planned in a demo never go out later just because SMTP was configured meanwhile.
FIXED_CLOCK = "fixed-clock"
NOT_CONFIGURED = "not-configured"


@dataclass(frozen=True)
class Hold:
    """Why a channel is held, and the setting that releases it."""

    channel: str
    code: str
    reason: str
    release: str

    @property
    def text(self) -> str:
        """'<code>: <reason>; <release>' as stored in the row's last_error."""
        return f"{self.code}: {self.reason}; {self.release}"


def hold_for(config: Config, channel: str) -> Hold | None:
    """Why outbox messages on `channel` may not be sent now (None: they may)."""
    if config.bot.now and not config.delivery.send_with_fixed_clock:
        return Hold(
            channel,
            FIXED_CLOCK,
            f"bot.now is fixed ({config.bot.now})",
            "set delivery.send_with_fixed_clock = true "
            "(COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK=true) to send anyway",
        )
    if channel == EMAIL:
        missing = [
            key for key in ("email.smtp_host", "email.from_address") if key not in config.explicit
        ]
        if missing:
            names = " and ".join(missing)
            envs = ", ".join(f"COORDBOT_{k.replace('.', '_').upper()}" for k in missing)
            return Hold(
                channel,
                NOT_CONFIGURED,
                f"{names} not set",
                f"set {names} in the config file or the environment ({envs})",
            )
    if channel == TELEGRAM and not config.telegram.token:
        return Hold(
            channel,
            NOT_CONFIGURED,
            "no Telegram token",
            "set telegram.token (COORDBOT_TELEGRAM_TOKEN)",
        )
    return None


def holds(config: Config, *, injected: tuple[str, ...] = ()) -> dict[str, Hold]:
    """The held channels, each with its reason. `injected` names channels whose transport
    the caller built itself (tests, benchmarks): only the fixed-clock rule applies to them."""
    found = {channel: hold_for(config, channel) for channel in (TELEGRAM, EMAIL)}
    return {
        channel: hold
        for channel, hold in found.items()
        if hold is not None and (channel not in injected or hold.code == FIXED_CLOCK)
    }


@dataclass(frozen=True)
class HeldGroup:
    """Rows of one source just held: 'reminder data-deadline|14d' to `people` recipients."""

    source_kind: str
    source_id: str
    channel: str
    people: int

    def line(self, hold: Hold) -> str:
        """The one line the console and the log show for it."""
        noun = "person" if self.people == 1 else "people"
        return (
            f"held: {self.source_kind} {self.source_id} to {self.people} {noun} by "
            f"{self.channel} ({hold.reason}; {hold.release})"
        )


def hold_pending(
    db: Database, hold: Hold, source: tuple[str, str] | None = None
) -> list[HeldGroup]:
    """Move the channel's pending rows (of one source, if given) to `held`; what was held,
    grouped by source."""
    where = [OutboxMessage.status == PENDING, OutboxMessage.channel == hold.channel]
    if source is not None:
        where += [OutboxMessage.source_kind == source[0], OutboxMessage.source_id == source[1]]
    with db.session() as session:
        rows = session.execute(
            update(OutboxMessage)
            .where(*where)
            .values(status=HELD, last_error=hold.text[:2000])
            .returning(OutboxMessage.source_kind, OutboxMessage.source_id)
            .execution_options(synchronize_session=False)
        ).all()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for kind, ident in rows:
        counts[(kind, ident)] += 1
    return [HeldGroup(kind, ident, hold.channel, n) for (kind, ident), n in sorted(counts.items())]


def release_held(db: Database, config: Config, channel: str) -> int:
    """Put the channel's held rows back to pending (the channel may send now); rows held for
    the fixed clock only when this run has a fixed clock too. Returns how many."""
    if hold_for(config, channel) is not None:
        return 0
    conditions = [OutboxMessage.status == HELD, OutboxMessage.channel == channel]
    if not config.bot.now:
        conditions.append(~OutboxMessage.last_error.startswith(FIXED_CLOCK))
    with db.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(*conditions)
            .values(status=PENDING, last_error=None)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def held_count(db: Database) -> dict[str, int]:
    """Held rows per channel."""
    with db.session() as session:
        rows = session.execute(
            select(OutboxMessage.channel, func.count())
            .where(OutboxMessage.status == HELD)
            .group_by(OutboxMessage.channel)
        ).all()
    return {channel: int(n) for channel, n in rows}


def log_startup(config: Config) -> None:
    """Say at start which channels are held, why, and which setting releases them."""
    for hold in holds(config).values():
        log.warning(
            "%s delivery is held: %s. Messages wait in the outbox (`coordbot outbox`); %s.",
            hold.channel,
            hold.reason,
            hold.release,
        )
