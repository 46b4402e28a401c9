"""`coordbot run`: one asyncio loop hosting chat, scheduler, delivery and the calendar server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import load_config
from bot.lifecycle import Component
from bot.services import Services, build_services

log = logging.getLogger("coordbot")

STOP_TIMEOUT_SECONDS = 8.0


def build_components(services: Services, *, interactive: bool) -> list[Component]:
    """The long-running parts, in start order (they stop in reverse order)."""
    components: list[Component] = []
    # Each part registers itself here with one line, imported lazily so `coordbot ask` stays light.
    return components


async def serve(components: list[Component], stop: asyncio.Event) -> None:
    """Start every component, wait for `stop`, then stop them in reverse order."""
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
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
    components = build_components(services, interactive=interactive)
    if not components:
        log.warning("nothing to run")
        return
    await serve(components, stop)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot until SIGINT or SIGTERM."""
    config = load_config(args.config)
    logging.basicConfig(
        level=config.bot.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    services = build_services(config)
    try:
        asyncio.run(_main(services, interactive=sys.stdin.isatty()))
    finally:
        services.close()
    return 0
