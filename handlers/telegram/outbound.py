"""The Telegram transport of the delivery worker: python-telegram-bot's Bot, with its errors
turned into bot.delivery's send outcomes (retry later, temporary, permanent, moved)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import aiohttp
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBUserWarning

from bot.config import TelegramConfig
from bot.delivery.telegram import ChatMoved, PermanentFailure, RetryLater, TemporaryFailure

DEFAULT_BASE_URL = "https://api.telegram.org/bot"

# PTB suggests send_message over the raw call; the raw call is deliberate here (see send).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

# Bad requests that mean the chat cannot be reached at all (rather than a bad message).
_GONE = ("chat not found", "user not found", "peer_id_invalid", "have no rights to send")


def retry_after_seconds(value: int | float | timedelta) -> float:
    """PTB 22 gives retry_after as int seconds and will give a timedelta: accept both."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's HTTP layer on aiohttp.

    PTB's default (httpx) costs several milliseconds of CPU per request here, which caps a
    Python process well below Telegram's 30 messages/s once a database and a rate limiter
    share the loop; aiohttp's client does the same request for a fraction of that. Errors map
    exactly as PTB's own do: timeouts to TimedOut, everything else to NetworkError.
    """

    def __init__(self, *, connection_limit: int = 32, timeout: float = 15.0) -> None:
        self._limit = connection_limit
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (seconds)."""
        return self._timeout

    async def initialize(self) -> None:
        """Open the connection pool."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout),
            )

    async def shutdown(self) -> None:
        """Close the connection pool."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; returns (status, body)."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = request_data.json_parameters
        read = self._timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=read)
        try:
            async with self._session.request(
                method, url, data=data, headers={"User-Agent": self.USER_AGENT}, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


class PtbTransport:
    """Sends through telegram.Bot against telegram.api_base_url (Telegram's by default)."""

    def __init__(self, config: TelegramConfig, *, pool_size: int = 32) -> None:
        self._config = config
        self._pool_size = pool_size
        self._bot: Bot | None = None

    async def open(self) -> None:
        """Create the Bot and check the token (getMe)."""
        request = AiohttpRequest(connection_limit=self._pool_size)
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
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "link_preview_options": {"is_disabled": True},
        }
        for name in ("parse_mode", "reply_markup"):
            if options.get(name):
                params[name] = options[name]
        try:
            # The raw method: the same errors as send_message, without building a Message
            # object from the answer (a sixth of the CPU time of a send).
            await self._bot.do_api_request("sendMessage", api_kwargs=params)
        except RetryAfter as exc:
            raise RetryLater(retry_after_seconds(exc.retry_after)) from None
        except ChatMigrated as exc:
            raise ChatMoved(int(exc.new_chat_id)) from None
        except Forbidden as exc:
            raise PermanentFailure(exc.message, unreachable=True) from None
        except BadRequest as exc:
            gone = any(marker in exc.message.lower() for marker in _GONE)
            raise PermanentFailure(exc.message, unreachable=gone) from None
        except (InvalidToken, EndPointNotFound) as exc:
            # The token is wrong for every message: keep them queued until it is fixed. A token
            # revoked after start-up comes back from do_api_request as EndPointNotFound (PTB
            # reads Telegram's 401/404 so once initialised), and sendMessage surely exists.
            raise TemporaryFailure(f"Telegram refused the bot token: {exc.message}") from None
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            raise TemporaryFailure(exc.message) from None
        except TelegramError as exc:
            raise TemporaryFailure(exc.message) from None


def transport_for(config: TelegramConfig) -> PtbTransport | None:
    """The delivery transport when a bot token is configured; None (Telegram rows wait)."""
    return PtbTransport(config) if config.token else None
