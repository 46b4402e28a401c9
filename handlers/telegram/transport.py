"""Telegram as a `coordbot run` component, on the shared asyncio loop: long polling, or a
webhook when `telegram.webhook_url` is set.

The Application is driven by hand (initialize, start, updater.start_polling; then
updater.stop, stop, shutdown) rather than run_polling, so the scheduler, delivery and web
server share the loop. Stopping the updater acknowledges every fetched update to Telegram, and
Application.stop() finishes the updates already fetched: nothing is lost or handled twice.

In webhook mode there is no updater: start() calls setWebhook (URL, secret token, allowed
updates) and the calendar web server (bot.webhook) puts each posted update on the
Application's update_queue through `receive_update`. Every instance behind the load balancer
sets the same webhook, so starting one more changes nothing; stopping one deletes nothing (the
others go on serving it). Polling (start_polling) deletes a webhook first, so going back to
polling needs no step of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.chat import ChatService
from bot.i18n import LANGUAGES
from bot.services import Services
from bot.webhook import ChatNotReady
from handlers.telegram import register_all
from handlers.telegram.limiter import PerUserUpdates, SharedRateLimiter

log = logging.getLogger(__name__)

ALLOWED_UPDATES = (
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
)


CONCURRENT_UPDATES = 32


def file_base_url(api_base_url: str) -> str:
    """The file-download base of a Bot API server: ".../bot" -> ".../file/bot"."""
    head, sep, tail = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else api_base_url


def build_application(services: Services, chat: ChatService) -> Application:
    """The python-telegram-bot Application with coordbot's handlers, not yet initialized."""
    config = services.config.telegram
    # Replies: fail a stuck request within seconds. Polling: PTB adds the long-poll timeout to
    # read_timeout, so this only has to cover the network.
    request = HTTPXRequest(
        connection_pool_size=16,
        connect_timeout=10.0,
        read_timeout=15.0,
        write_timeout=15.0,
        pool_timeout=5.0,
        media_write_timeout=30.0,
    )
    updates_request = HTTPXRequest(
        connection_pool_size=1, connect_timeout=10.0, read_timeout=10.0, pool_timeout=5.0
    )
    builder = (
        Application.builder()
        .token(config.token)
        .request(request)
        .get_updates_request(updates_request)
        .job_queue(None)  # the scheduler is coordbot's own; no second APScheduler
        # Replies share the delivery workers' Telegram budget (30/s, 1/s per chat).
        .rate_limiter(SharedRateLimiter(services.telegram_limiter()))
        # Users are served side by side: one chat waiting for its send slot (a second per
        # message) must not hold up everyone else's answers; each user's updates in order.
        .concurrent_updates(PerUserUpdates(CONCURRENT_UPDATES))
    )
    if config.webhook_url:
        builder = builder.updater(None)  # updates arrive through the web server
    if config.api_base_url:
        builder = builder.base_url(config.api_base_url).base_file_url(
            file_base_url(config.api_base_url)
        )
    application = builder.build()
    register_all(application, chat)
    return application


class TelegramChat:
    """Component: answers Telegram (long polling, or webhook posts) until stopped."""

    name = "telegram"

    def __init__(self, services: Services, chat: ChatService) -> None:
        self._services = services
        self._chat = chat
        self._application: Application | None = None

    @property
    def application(self) -> Application:
        """The running Application (after start)."""
        if self._application is None:
            raise RuntimeError("the Telegram component has not been started")
        return self._application

    async def start(self) -> None:
        """Connect (getMe), publish the command menu and begin long polling, or set the
        webhook (webhook mode)."""
        application = build_application(self._services, self._chat)
        self._application = application
        config = self._services.config.telegram
        try:
            await application.initialize()
            await self._publish_commands(application)
            await application.start()
            if config.webhook_url:
                await application.bot.set_webhook(
                    url=config.webhook_url,
                    secret_token=config.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            else:
                assert application.updater is not None
                await application.updater.start_polling(
                    timeout=config.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                    error_callback=_log_polling_error,
                )
        except BaseException:
            await self.stop()
            raise
        if config.webhook_url:
            log.info("Telegram: webhook set as @%s", application.bot.username)
        else:
            log.info("Telegram: polling as @%s", application.bot.username)

    async def receive_update(self, update: dict[str, Any]) -> None:
        """Queue one update posted to the webhook; ChatNotReady unless running."""
        application = self._application
        if application is None or not application.running:
            raise ChatNotReady("the Telegram chat is not running")
        try:
            parsed = Update.de_json(update, application.bot)
        except (KeyError, TypeError, ValueError) as exc:
            # Answered 200 all the same: Telegram would post it again and again.
            log.warning(
                "webhook update %s not understood, dropped: %s", update.get("update_id"), exc
            )
            return
        await application.update_queue.put(parsed)

    async def stop(self) -> None:
        """Stop polling (acknowledging what was fetched), finish pending updates, close."""
        application, self._application = self._application, None
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def _publish_commands(self, application: Application) -> None:
        """setMyCommands in English (the default) and Norwegian; a failure is only logged."""
        for lang in LANGUAGES:
            commands = [BotCommand(name, text[:256]) for name, text in self._chat.menu(lang)]
            try:
                await application.bot.set_my_commands(
                    commands, language_code=None if lang == "en" else lang
                )
            except TelegramError as exc:
                log.warning("could not publish the %s command menu: %s", lang, exc)


def _log_polling_error(exc: TelegramError) -> None:
    # PTB retries polling by itself; one line per failure, no traceback.
    log.warning("Telegram polling failed, retrying: %s", exc)
