"""Telegram's webhook on the calendar web server (webhook mode, `telegram.webhook_url`).

Telegram (through the load balancer) POSTs each update as JSON to the path of
`telegram.webhook_url`, with the secret given to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header. A post without the right secret is refused (403,
compared in constant time) and nothing of it is read further. A good one is handed to the chat
(queued, not yet handled) and answered 200 at once: Telegram waits for the answer before it
sends that chat's next update, and retries what is not answered 2xx.

No Telegram library here: the chat transport gives the server an `UpdateReceiver`.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger("coordbot.web")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small; a post much larger than any update is not one.
MAX_UPDATE_BYTES = 1024 * 1024


class ChatNotReady(RuntimeError):
    """The chat is not running (starting or stopping): Telegram should try again later."""


class UpdateReceiver(Protocol):
    """Takes one update (Telegram's JSON object) into the chat's queue."""

    async def __call__(self, update: dict[str, Any]) -> None:
        """Queue the update; raise ChatNotReady when the chat cannot take it now."""
        ...


def webhook_path(webhook_url: str) -> str:
    """The path the web server answers on: that of the public URL (the load balancer passes
    it through unchanged)."""
    return urlsplit(webhook_url).path


def add_webhook_route(
    app: web.Application, webhook_url: str, secret: str, receiver: UpdateReceiver | None
) -> None:
    """POST on the webhook's path: check the secret, hand the update to `receiver`."""
    expected = secret.encode()
    refused = [0]

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            refused[0] += 1
            # The first refusal, then every 100th: a misconfigured proxy shows at once, a
            # flood of bad posts does not flood the log.
            if refused[0] % 100 == 1:
                log.warning(
                    "webhook post from %s refused: wrong or missing %s (%d so far)",
                    request.remote,
                    SECRET_HEADER,
                    refused[0],
                )
            return web.Response(status=403, text="forbidden\n")
        if receiver is None:
            return web.Response(status=503, text="no chat in this instance\n")
        if request.content_length is not None and request.content_length > MAX_UPDATE_BYTES:
            return web.Response(status=413, text="too large\n")
        try:
            update = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON\n")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="not a Telegram update\n")
        try:
            await receiver(update)
        except ChatNotReady:
            # Telegram retries; behind a load balancer another instance takes it.
            return web.Response(status=503, text="starting or stopping\n")
        return web.Response(text="ok\n")

    app.router.add_post(webhook_path(webhook_url), handle)
