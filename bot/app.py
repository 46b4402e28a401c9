"""`coordbot run`: one asyncio loop hosting chat, scheduler, delivery and the calendar server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from bot.config import load_config
from bot.lifecycle import Component
from bot.services import Services, build_services

log = logging.getLogger("coordbot")

STOP_TIMEOUT_SECONDS = 8.0


class StartupError(RuntimeError):
    """A component could not start (bad token, server unreachable, port in use)."""


def build_components(
    services: Services,
    *,
    interactive: bool,
    request_stop: Callable[[], None] | None = None,
) -> list[Component]:
    """The long-running parts, in start order (they stop in reverse order)."""
    components: list[Component] = []
    # Each part registers itself here with one line, imported lazily so `coordbot ask` stays light.
    from bot.web import CalendarServer

    components.append(CalendarServer(services))
    from bot.delivery.component import DeliveryComponent
    from handlers.telegram.outbound import transport_for
    from schedules.scheduler import ReminderScheduler

    components.append(DeliveryComponent(services, telegram=transport_for(services.config.telegram)))
    if services.config.reminders.enabled:
        components.append(ReminderScheduler(services))
    if services.config.inbound.imap_host:
        from bot.inbound.watcher import ImapWatcher

        components.append(ImapWatcher(services))
    # The chat goes last: it starts once what it talks about runs, and stops first.
    components += chat_transport(services, interactive=interactive, request_stop=request_stop)
    return components


def chat_transport(
    services: Services,
    *,
    interactive: bool,
    request_stop: Callable[[], None] | None = None,
    stdin_fd: int = 0,
    output: TextIO | None = None,
) -> list[Component]:
    """Telegram when a token is set, else the console chat on a terminal, else nothing."""
    from bot.chat import ChatService

    chat = ChatService(services)
    if services.config.telegram.token:
        from handlers.telegram.transport import TelegramChat

        return [TelegramChat(services, chat)]
    if interactive:
        from handlers.console import ConsoleChat, locale_language

        out = output or sys.stdout
        return [
            ConsoleChat(
                chat,
                input_fd=stdin_fd,
                output=out,
                on_eof=request_stop,
                language_code=locale_language(os.environ),
                color=out.isatty(),
            )
        ]
    log.warning(
        "No Telegram token and no terminal: running without chat. "
        "Set COORDBOT_TELEGRAM_TOKEN to connect to Telegram."
    )
    return []


async def serve(components: list[Component], stop: asyncio.Event) -> None:
    """Start every component, wait for `stop`, then stop them in reverse order."""
    started: list[Component] = []
    try:
        for component in components:
            try:
                await component.start()
            except Exception as exc:
                log.debug("starting %s failed", component.name, exc_info=True)
                raise StartupError(f"{component.name} did not start: {exc}") from exc
            started.append(component)
            log.info("started %s", component.name)
        await stop.wait()
    finally:
        for component in reversed(started):
            try:
                await asyncio.wait_for(component.stop(), STOP_TIMEOUT_SECONDS)
                log.info("stopped %s", component.name)
            except Exception:
                log.exception("stopping %s failed", component.name)


async def _main(services: Services, interactive: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    components = build_components(services, interactive=interactive, request_stop=stop.set)
    if not components:
        log.warning("nothing to run")
        return
    await serve(components, stop)


def _configure_logging(level: str, *, quiet: bool) -> None:
    """Log to stderr; on the console chat only warnings, so the chat stays readable."""
    numeric = logging.getLevelName(level.upper())
    if quiet and isinstance(numeric, int) and numeric == logging.INFO:
        numeric = logging.WARNING
    logging.basicConfig(
        level=numeric,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO, and a Bot API URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot until SIGINT or SIGTERM."""
    config = load_config(args.config)
    interactive = sys.stdin.isatty()
    _configure_logging(config.bot.log_level, quiet=interactive and not config.telegram.token)
    services = build_services(config)
    try:
        asyncio.run(_main(services, interactive=interactive))
    except StartupError as exc:
        print(f"coordbot: {exc}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0
