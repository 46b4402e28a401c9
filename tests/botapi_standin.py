"""A loopback stand-in for the Telegram Bot API, for tests, benchmarks and demos.

The real python-telegram-bot stack talks to it over HTTP through `api_base_url`
(``http://127.0.0.1:PORT/bot``). It queues updates for getUpdates, records every call, answers
send* methods with plausible Message objects, and can be told to fail: 429 with retry_after,
5xx, or 403 "blocked by the user". An optional flood limit answers 429 past N calls a second,
like Telegram, and counts every call that broke it.

Like Telegram it refuses (400 Bad Request, recorded in `refusals`) what the real API refuses:
HTML it cannot parse (unknown tags or entities, unclosed or stray tags, a bare `<` or `&`),
texts over 4,096 UTF-16 code units once parsed (captions over 1,024), empty texts, and
callback_data over 64 bytes.

Webhooks as Telegram keeps them: setWebhook (an https:// URL, a secret_token of A-Z, a-z,
0-9, _ and -) is recorded in `webhook`, deleteWebhook clears it, getWebhookInfo reports it, and
getUpdates is refused with 409 Conflict while one is set.

Run it alone for a demo: ``python tests/botapi_standin.py --port 8081``; then
``POST /_standin/updates`` queues an update (JSON) and ``GET /_standin/calls`` lists the calls
(with their arrival times) and the flood violations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "coordbot", "username": "coordbot_test_bot"}
SEND_METHODS = {"sendmessage", "senddocument", "sendphoto", "editmessagetext", "copymessage"}
TEXT_METHODS = {"sendmessage", "editmessagetext"}
CAPTION_METHODS = {"senddocument", "sendphoto"}
WEBHOOK_METHODS = {"setwebhook", "deletewebhook", "getwebhookinfo"}
MESSAGE_LIMIT = 4096  # UTF-16 code units of the text as parsed
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
# Telegram's HTML: these tags, numeric entities and four named ones; nothing else.
HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_HTML_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z][A-Za-z0-9]*));")


class EntityError(ValueError):
    """Text Telegram would answer with "can't parse entities"."""


def parse_html(text: str) -> str:
    """The visible text of a Telegram HTML message; raise EntityError where Telegram says
    "Bad Request: can't parse entities: ..."."""
    visible: list[str] = []
    open_tags: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        offset = len(text[:pos].encode("utf-8"))
        if ch == "<":
            tag = _HTML_TAG.match(text, pos)
            if tag is None:
                raise EntityError(f"Unexpected character '<' at byte offset {offset}")
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in HTML_TAGS:
                raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
            if closing:
                if not open_tags or open_tags[-1] != name:
                    raise EntityError(f'Unexpected end tag "{name}" at byte offset {offset}')
                open_tags.pop()
            else:
                open_tags.append(name)
            pos = tag.end()
        elif ch == "&":
            entity = _HTML_ENTITY.match(text, pos)
            if entity is None:
                raise EntityError(f"Character '&' must be escaped at byte offset {offset}")
            decimal, hexadecimal, name = entity.groups()
            if name is not None:
                if name not in NAMED_ENTITIES:
                    raise EntityError(f'Unsupported HTML entity "&{name};" at byte offset {offset}')
                visible.append(NAMED_ENTITIES[name])
            else:
                code = int(decimal) if decimal is not None else int(hexadecimal, 16)
                if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise EntityError(f"Invalid character entity at byte offset {offset}")
                visible.append(chr(code))
            pos = entity.end()
        else:
            visible.append(ch)
            pos += 1
    if open_tags:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(visible)


def utf16_units(text: str) -> int:
    """A text's length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class RecordedCall:
    """One Bot API call as the stand-in received it."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Fault:
    """A scripted failure for the next `count` calls of `method` (or of any method, if None)."""

    status: int
    description: str
    method: str | None = None
    chat_id: int | None = None
    retry_after: int | None = None
    count: int = 1


class BotApiStandIn:
    """The stand-in server; use as ``async with BotApiStandIn() as api:``."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limit_per_second: float | None = None,
        chat_limit_per_second: float | None = None,
        group_limit_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.flood_limit_per_second = flood_limit_per_second
        # Per-chat limits like Telegram's (private chats per second, groups per minute); every
        # call over a limit is answered 429 and counted in flood_violations too.
        self.chat_limit_per_second = chat_limit_per_second
        self.group_limit_per_minute = group_limit_per_minute
        self._chat_windows: dict[int, deque[float]] = {}
        self.clock = clock
        self.calls: list[RecordedCall] = []
        self.faults: list[Fault] = []
        self.blocked_chats: set[int] = set()
        # Groups that became supergroups: old chat id -> new one (Telegram answers a send to
        # the old id with 400 and parameters.migrate_to_chat_id).
        self.migrated_chats: dict[int, int] = {}
        self.flood_violations = 0
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._window: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        # hold(): calls past a count wait unanswered (a slow Telegram), released by release().
        self._hold: tuple[str, int] | None = None
        self._answered_before_hold = 0
        self._release = asyncio.Event()
        self.held: list[RecordedCall] = []
        # Calls refused as Telegram would refuse them (bad HTML, too long, bad buttons).
        self.refusals: list[RecordedCall] = []
        # The webhook set with setWebhook (url, secret_token, allowed_updates), or None.
        self.webhook: dict[str, Any] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve on the loopback address."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_post("/_standin/updates", self._handle_push_update)
        app.router.add_get("/_standin/calls", self._handle_list_calls)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop serving; pending long polls and held calls return."""
        self._new_update.set()
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The value for `telegram.api_base_url` (the token is appended by the client)."""
        return f"http://{self.host}:{self.port}/bot"

    # --- scripting -------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def fail(
        self,
        status: int,
        description: str,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` matching calls fail with `status`."""
        self.faults.append(
            Fault(status, description, method and method.lower(), chat_id, retry_after, count)
        )

    def hold(self, method: str, *, after: int) -> None:
        """Answer the next `after` calls of `method`, then leave every further one waiting
        (in `held`, unanswered) until `release()`: a kill can then land at a known point."""
        self._hold = (method.lower(), after)
        self._answered_before_hold = 0
        self._release.clear()

    def release(self) -> None:
        """Answer the held calls (they then count as successful, as Telegram would have
        delivered them) and hold nothing more."""
        self._hold = None
        self._release.set()

    async def _held_back(self, call: RecordedCall) -> None:
        if self._hold is None or self._hold[0] != call.method:
            return
        if self._answered_before_hold < self._hold[1]:
            self._answered_before_hold += 1
            return
        self.held.append(call)
        async with self._changed:
            self._changed.notify_all()
        await self._release.wait()

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[RecordedCall]:
        """Recorded calls of one method (successful ones unless ok_only=False)."""
        return [
            c for c in self.calls if c.method == method.lower() and (c.status == 200 or not ok_only)
        ]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of successful sendMessage calls (to one chat, if given)."""
        return [
            str(c.params.get("text", ""))
            for c in self.calls_to("sendMessage")
            if chat_id is None or int(c.params.get("chat_id", 0)) == chat_id
        ]

    async def wait_for_calls(
        self, method: str, count: int, timeout: float = 10.0
    ) -> list[RecordedCall]:
        """Wait until at least `count` successful calls of `method` were recorded."""

        await self.wait_until(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds; it is checked again after every recorded call."""

        async def holds() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(holds(), timeout)

    # --- HTTP ------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = _maybe_json(str(value))
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params, files = await self._params(request)
        call = RecordedCall(method, params, self.clock(), files=files)
        # A token revoked meanwhile (test: set `api.token`) is refused like any wrong one.
        response = (
            _error(401, "Unauthorized") if request.match_info["token"] != self.token else None
        )
        response = response or self._fault_for(call)
        if response is None:
            response = self._refusal(call)
            if response is not None:
                self.refusals.append(call)
        response = response or self._flood_check(call)
        if response is None:
            await self._held_back(call)
            if method in WEBHOOK_METHODS:
                response = self._webhook_call(method, params)
            elif method == "getupdates":
                response = (
                    _error(
                        409,
                        "Conflict: can't use getUpdates method while webhook is active; "
                        "use deleteWebhook to delete the webhook first",
                    )
                    if self.webhook is not None
                    else await self._get_updates(params)
                )
            else:
                response = _ok(self._result_for(method, params, files))
        call.status = response.status
        if method != "getupdates":
            self.calls.append(call)
            async with self._changed:
                self._changed.notify_all()
        return response

    def _fault_for(self, call: RecordedCall) -> web.Response | None:
        chat = call.params.get("chat_id")
        if call.method in SEND_METHODS and chat is not None and int(chat) in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        if call.method in SEND_METHODS and chat is not None and int(chat) in self.migrated_chats:
            return _error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated_chats[int(chat)],
            )
        for fault in self.faults:
            if fault.method not in (None, call.method):
                continue
            if fault.chat_id is not None and (chat is None or int(chat) != fault.chat_id):
                continue
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
            return _error(fault.status, fault.description, fault.retry_after)
        return None

    def _refusal(self, call: RecordedCall) -> web.Response | None:
        """Telegram's 400 answers to a request it cannot take; None if it is acceptable."""
        params = call.params
        field, limit = (
            ("text", MESSAGE_LIMIT)
            if call.method in TEXT_METHODS
            else ("caption", CAPTION_LIMIT)
            if call.method in CAPTION_METHODS
            else (None, 0)
        )
        if field is not None and (field in params or call.method in TEXT_METHODS):
            raw = str(params.get(field, ""))
            visible = raw
            if str(params.get("parse_mode", "")).upper() == "HTML":
                try:
                    visible = parse_html(raw)
                except EntityError as exc:
                    return _error(400, f"Bad Request: can't parse entities: {exc}")
            if call.method in TEXT_METHODS and not visible.strip():
                return _error(400, "Bad Request: message text is empty")
            if utf16_units(visible) > limit:
                what = "message is too long" if field == "text" else "message caption is too long"
                return _error(400, f"Bad Request: {what}")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = _maybe_json(markup)
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard") or []:
                for button in row:
                    data = button.get("callback_data") if isinstance(button, dict) else None
                    if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                        return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _flood_check(self, call: RecordedCall) -> web.Response | None:
        if call.method not in SEND_METHODS:
            return None
        now = call.at
        if self.flood_limit_per_second is not None:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.flood_limit_per_second:
                self.flood_violations += 1
                return _error(429, "Too Many Requests: retry after 1", 1)
        chat = int(call.params.get("chat_id") or 0)
        span, limit = (60.0, self.group_limit_per_minute) if chat < 0 else (1.0, None)
        if chat > 0 and self.chat_limit_per_second is not None:
            span, limit = 1.0 / self.chat_limit_per_second, 1
        if limit is not None:
            times = self._chat_windows.setdefault(chat, deque())
            while times and now - times[0] >= span:
                times.popleft()
            if len(times) >= limit:
                self.flood_violations += 1
                return _error(
                    429, f"Too Many Requests: retry after {math.ceil(span)}", math.ceil(span)
                )
            times.append(now)
        if self.flood_limit_per_second is not None:
            self._window.append(now)
        return None

    def _webhook_call(self, method: str, params: dict[str, Any]) -> web.Response:
        """setWebhook, deleteWebhook and getWebhookInfo, checked as Telegram checks them."""
        if method == "deletewebhook":
            self.webhook = None
            if str(params.get("drop_pending_updates", "")).lower() in ("true", "1"):
                self._updates.clear()
            return _ok(True)
        if method == "getwebhookinfo":
            hook = self.webhook or {}
            return _ok(
                {
                    "url": hook.get("url", ""),
                    "has_custom_certificate": False,
                    "pending_update_count": len(self._updates),
                    **({"allowed_updates": hook["allowed_updates"]} if hook else {}),
                }
            )
        url = str(params.get("url", ""))
        if not url:
            self.webhook = None  # setWebhook with an empty URL removes it
            return _ok(True)
        if not url.startswith("https://"):
            return _error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = _maybe_json(allowed)
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        return _ok(True)

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        limit = int(params.get("limit") or 100)
        return _ok(self._updates[:limit])

    def _result_for(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method == "getme":
            return BOT_USER
        if method in SEND_METHODS:
            chat_id = int(params.get("chat_id", 0))
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._message_ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT_USER,
            }
            if "text" in params:
                message["text"] = str(params["text"])
            if method == "senddocument":
                message["document"] = {
                    "file_id": f"doc{message['message_id']}",
                    "file_unique_id": f"u{message['message_id']}",
                    "file_name": "document",
                }
            return message
        if method == "getmycommands":
            return []
        return True

    async def _handle_push_update(self, request: web.Request) -> web.Response:
        update_id = self.push_update(await request.json())
        return web.json_response({"ok": True, "update_id": update_id})

    async def _handle_list_calls(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "flood_violations": self.flood_violations,
                "calls": [
                    {"method": c.method, "params": c.params, "status": c.status, "at": c.at}
                    for c in self.calls
                ],
            }
        )


def _maybe_json(value: str) -> Any:
    """PTB sends nested objects (reply_markup, commands) as JSON strings in form fields."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(
    status: int,
    description: str,
    retry_after: int | None = None,
    *,
    migrate_to_chat_id: int | None = None,
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    parameters: dict[str, int] = {}
    if retry_after is not None:
        parameters["retry_after"] = retry_after
    if migrate_to_chat_id is not None:
        parameters["migrate_to_chat_id"] = migrate_to_chat_id
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


# --- update builders -------------------------------------------------------------------------

_ids = itertools.count(1)


def user(
    user_id: int, *, first_name: str = "Test", language_code: str | None = "en"
) -> dict[str, Any]:
    """A Telegram User object."""
    obj: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        obj["language_code"] = language_code
    return obj


def message_update(
    user_id: int,
    text: str | None = None,
    *,
    chat_id: int | None = None,
    chat_type: str = "private",
    language_code: str | None = "en",
    edited: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An update carrying a message (or an edited message) from `user_id`."""
    chat_id = user_id if chat_id is None else chat_id
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {
            "id": chat_id,
            "type": chat_type,
            **({"title": "Group"} if chat_type != "private" else {}),
        },
        "from": user(user_id, language_code=language_code),
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if edited:
        message["edit_date"] = int(time.time())
    message.update(extra or {})
    return {"edited_message" if edited else "message": message}


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int = 1,
    chat_id: int | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """An update for a press of an inline keyboard button carrying `data`."""
    chat_id = user_id if chat_id is None else chat_id
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user(user_id, language_code=language_code),
            "chat_instance": str(chat_id),
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": "...",
            },
        }
    }


async def _serve_forever(port: int, token: str, flood_limit: float | None) -> None:
    async with BotApiStandIn(token, port=port, flood_limit_per_second=flood_limit) as api:
        print(f"Bot API stand-in on {api.base_url} (token {token})", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--flood-limit", type=float, help="answer 429 past N sends a second")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.token, args.flood_limit))
