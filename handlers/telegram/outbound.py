"""The Telegram transport of the delivery worker: python-telegram-bot's Bot, with its errors
turned into bot.delivery's send outcomes (retry later, temporary, permanent, moved)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.config import TelegramConfig
from bot.delivery.telegram import ChatMoved, PermanentFailure, RetryLater, TemporaryFailure

DEFAULT_BASE_URL = "https://api.telegram.org/bot"

# Bad requests that mean the chat cannot be reached at all (rather than a bad message).
_GONE = ("chat not found", "user not found", "peer_id_invalid", "have no rights to send")


def retry_after_seconds(value: int | float | timedelta) -> float:
    """PTB 22 gives retry_after as int seconds and will give a timedelta: accept both."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PtbTransport:
    """Sends through telegram.Bot against telegram.api_base_url (Telegram's by default)."""

    def __init__(self, config: TelegramConfig, *, pool_size: int = 32) -> None:
        self._config = config
        self._pool_size = pool_size
        self._bot: Bot | None = None

    async def open(self) -> None:
        """Create the Bot and check the token (getMe)."""
        request = HTTPXRequest(
            connection_pool_size=self._pool_size,
            connect_timeout=10.0,
            read_timeout=15.0,
            write_timeout=15.0,
            pool_timeout=10.0,
        )
        bot = Bot(
            self._config.token,
            base_url=self._config.api_base_url or DEFAULT_BASE_URL,
            request=request,
        )
        try:
            await bot.initialize()
        except TelegramError as exc:
            raise TemporaryFailure(f"cannot reach the Telegram Bot API: {exc.message}") from None
        self._bot = bot

    async def close(self) -> None:
        """Close the HTTP connections."""
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.shutdown()

    async def send(self, chat_id: int, text: str, options: Mapping[str, Any]) -> None:
        """sendMessage; raises RetryLater, TemporaryFailure, PermanentFailure or ChatMoved."""
        if self._bot is None:
            raise TemporaryFailure("the Telegram transport is not open")
        markup = options.get("reply_markup")
        try:
            await self._bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=options.get("parse_mode"),
                reply_markup=InlineKeyboardMarkup.de_json(dict(markup), self._bot)
                if markup
                else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except RetryAfter as exc:
            raise RetryLater(retry_after_seconds(exc.retry_after)) from None
        except ChatMigrated as exc:
            raise ChatMoved(int(exc.new_chat_id)) from None
        except Forbidden as exc:
            raise PermanentFailure(exc.message, unreachable=True) from None
        except BadRequest as exc:
            gone = any(marker in exc.message.lower() for marker in _GONE)
            raise PermanentFailure(exc.message, unreachable=gone) from None
        except InvalidToken as exc:
            # The token is wrong for every message: keep them queued until it is fixed.
            raise TemporaryFailure(f"Telegram refused the bot token: {exc.message}") from None
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            raise TemporaryFailure(exc.message) from None
        except TelegramError as exc:
            raise TemporaryFailure(exc.message) from None


def transport_for(config: TelegramConfig) -> PtbTransport | None:
    """The delivery transport when a bot token is configured; None (Telegram rows wait)."""
    return PtbTransport(config) if config.token else None
