"""The one typed `Services` object: built in `build_services`, handed to every handler."""

from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.answering.engine import AnswerEngine
from bot.clock import Clock, build_clock
from bot.config import Config
from bot.db import Database
from bot.delivery.outbox import Outbox
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.mail import Mailer, SmtpMailer
from bot.registry.store import Registry


@dataclass
class Services:
    """Everything the handlers, CLI commands and workers use, built once per process."""

    config: Config
    clock: Clock
    db: Database
    registry: Registry
    answers: AnswerEngine
    mailer: Mailer
    outbox: Outbox
    # Set by the calendar web server while it runs (it may have picked a free port), so feed
    # links in chat replies point at it; None otherwise.
    calendar_base_url: str | None = None
    # The process's one Telegram send budget (chat replies and deliveries), made on first use.
    _telegram_limiter: TelegramRateLimiter | None = None

    def telegram_limiter(self) -> TelegramRateLimiter:
        """The Telegram rate limiter every sender in this process shares."""
        if self._telegram_limiter is None:
            cfg = self.config.delivery
            self._telegram_limiter = TelegramRateLimiter(
                time.monotonic,
                per_second=cfg.telegram_per_second,
                per_chat_per_second=cfg.telegram_per_chat_per_second,
                per_group_per_minute=cfg.telegram_per_group_per_minute,
            )
        return self._telegram_limiter

    @property
    def zone(self) -> ZoneInfo:
        """The programme's time zone."""
        return ZoneInfo(self.config.bot.timezone)

    def close(self) -> None:
        """Release what `build_services` opened."""
        self.db.dispose()


def build_services(config: Config, clock: Clock | None = None, *, seed: bool = True) -> Services:
    """Open the database (creating and seeding it when empty) and wire the services together."""
    clock = clock or build_clock(config)
    db = Database(config.database_url)
    registry = Registry(db, clock, config.bot.timezone)
    if seed:
        registry.ensure_seeded(config.data_file, auto_upgrade=config.bot.auto_upgrade)
    answers = AnswerEngine(registry, clock, default_lang=config.bot.default_language)
    # The mailer connects only when a batch is sent, so building it costs nothing.
    mailer = SmtpMailer(config.email)
    outbox = Outbox(db, clock, config.delivery)
    return Services(
        config=config,
        clock=clock,
        db=db,
        registry=registry,
        answers=answers,
        mailer=mailer,
        outbox=outbox,
    )
