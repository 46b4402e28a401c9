"""`coordbot run`: one asyncio loop hosting chat, scheduler, delivery and the calendar server."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from bot import redact
from bot.config import CONFIG_ENV, Config, env_warnings, load_config
from bot.delivery.hold import log_startup
from bot.files import config_file_warning
from bot.lifecycle import Component
from bot.services import Services, build_services
from bot.webguard import loop_exception_handler

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

    web_server = CalendarServer(services)
    components.append(web_server)
    from bot.delivery.component import DeliveryComponent
    from handlers.telegram.outbound import transport_for
    from schedules.scheduler import ReminderScheduler

    # Delivery runs in every instance: the outbox claim is safe across processes.
    components.append(DeliveryComponent(services, telegram=transport_for(services.config.telegram)))
    # The scheduler and the mailbox watcher run in one instance at a time (bot.leader).
    leader_parts: list[Component] = []
    if services.config.reminders.enabled:
        leader_parts.append(ReminderScheduler(services))
    if services.config.inbound.imap_host:
        from bot.inbound.watcher import ImapWatcher

        leader_parts.append(ImapWatcher(services))
    if leader_parts:
        from bot.leader import LeaderGate, leadership_for

        components.append(
            LeaderGate(
                leader_parts,
                leadership_for(services.config.database_url),
                interval=services.config.bot.leader_retry_seconds,
            )
        )
    # The chat goes last: it starts once what it talks about runs, and stops first.
    chat = chat_transport(services, interactive=interactive, request_stop=request_stop)
    if services.config.telegram.webhook_url:
        from handlers.telegram.transport import TelegramChat

        for part in chat:
            if isinstance(part, TelegramChat):
                # Webhook mode: the web server hands Telegram's posts to the chat.
                web_server.telegram_updates = part.receive_update
    components += chat
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
    from bot.chat.service import LastSeenFlush

    chat = ChatService(services)
    if services.config.telegram.token:
        from handlers.telegram.transport import TelegramChat

        return [LastSeenFlush(chat), TelegramChat(services, chat)]
    if interactive:
        from handlers.console import ConsoleChat, locale_language

        out = output or sys.stdout
        return [
            LastSeenFlush(chat),
            ConsoleChat(
                chat,
                input_fd=stdin_fd,
                output=out,
                on_eof=request_stop,
                language_code=locale_language(os.environ),
                color=out.isatty(),
            ),
        ]
    log.warning(
        "No Telegram token and no terminal: running without chat. "
        "Set COORDBOT_TELEGRAM_TOKEN to connect to Telegram."
    )
    return []


async def serve(
    components: list[Component],
    stop: asyncio.Event,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Start every component, wait for `stop`, then stop them in reverse order."""
    started: list[Component] = []
    try:
        for component in components:
            try:
                await component.start()
            except Exception as exc:
                log.debug("starting %s failed", component.name, exc_info=True)
                raise StartupError(_startup_message(component, exc)) from exc
            started.append(component)
            log.info("started %s", component.name)
        if on_started is not None:
            on_started()
        await stop.wait()
    finally:
        for component in reversed(started):
            try:
                await asyncio.wait_for(component.stop(), STOP_TIMEOUT_SECONDS)
                log.info("stopped %s", component.name)
            except Exception:
                log.exception("stopping %s failed", component.name)


def _startup_message(component: Component, exc: Exception) -> str:
    """One line for a component that did not start; a taken port names the setting."""
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return (
            f"{component.name} did not start: the address is already in use ({exc.strerror}); "
            "set COORDBOT_CALENDAR_LISTEN (calendar.listen) to another host:port, "
            "or 127.0.0.1:0 for any free port"
        )
    return f"{component.name} did not start: {exc}"


async def _main(services: Services, interactive: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # A flood that runs the process out of descriptors must not turn into a log flood.
    loop.set_exception_handler(loop_exception_handler())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    components = build_components(services, interactive=interactive, request_stop=stop.set)
    if not components:
        log.warning("nothing to run")
        return

    def announce() -> None:
        # What start-up built (the registry snapshot, the engine's index, SQLAlchemy's
        # mappers) lives as long as the process: keep it out of the collector's full passes,
        # which otherwise stop every thread, the loop's too, for a long moment.
        gc.freeze()
        # Printed, not logged: the console chat shows only warnings, and the operator needs
        # the address whatever port was picked.
        if services.calendar_base_url:
            print(f"coordbot: calendar feeds at {services.calendar_base_url}/", file=sys.stderr)

    await serve(components, stop, on_started=announce)


def startup_warnings(config: Config, config_path: str | None) -> list[str]:
    """What the operator should know before anything runs: misspelt COORDBOT_* variables,
    a config file with secrets others can read."""
    warnings = env_warnings()
    path = config_path or os.environ.get(CONFIG_ENV)
    if path:
        problem = config_file_warning(path)
        if problem:
            warnings.append(problem)
    return warnings


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot until SIGINT or SIGTERM."""
    config = load_config(args.config)
    interactive = sys.stdin.isatty()
    # Logging (through the redacting filter) was set up by the command line's entry point.
    for warning in startup_warnings(config, args.config):
        log.warning("%s", warning)
    log_startup(config)
    services = build_services(config)
    # Chat, database and engine work runs in worker threads; the loop thread must get the GIL
    # back quickly when it has I/O to serve (the default is 5 ms per waiting thread).
    sys.setswitchinterval(0.001)
    try:
        asyncio.run(_main(services, interactive=interactive))
    except StartupError as exc:
        # PTB puts a rejected token into its message: redact like the log does.
        print(
            f"coordbot: {redact.redact(str(exc), redact.config_secrets(config))}", file=sys.stderr
        )
        return 1
    finally:
        services.close()
    return 0
