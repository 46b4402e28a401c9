"""Secrets never reach a log, at any level: a logging filter that blanks them out of every
record (message, arguments and traceback text) before a handler formats it.

What it hides: the configured secrets (Telegram token, SMTP and IMAP passwords, the shared
feed token, the unsubscribe signing key), anything shaped like a Telegram bot token (a
rejected token is logged by python-telegram-bot before coordbot knows it is the configured one,
and the Bot API URL carries it as /bot<token>/), the token part of private feed links
(/calendar/TOKEN/NAME.ics) and the token of signed links (?token=...).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from bot.config import Config

MASK = "[redacted]"

# 123456789:AA... as Telegram issues them (the secret half is 35 characters today).
_BOT_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}")
# Private feed paths: /calendar/<token>/<name>.ics (the token is a path segment).
_FEED_PATH = re.compile(r"(/calendar/)[^/\s?#\"']{16,}(/[^/\s]*\.ics)")
# Signed links and login links: ?token=..., &sig=..., ?t=...
_SIGNED = re.compile(r"([?&](?:token|sig|signature|t|key)=)[^&\s\"'#]+", re.IGNORECASE)


def config_secrets(config: Config) -> list[str]:
    """The secret values of a configuration (empty ones left out)."""
    values = [
        config.telegram.token,
        config.email.password,
        config.calendar.feed_token,
        config.delivery.unsubscribe_secret,
        config.telegram.webhook_secret,
    ]
    # Sections other parts add (e.g. [inbound] password) are picked up by their key names.
    for section in vars(config).values():
        for key in ("password", "secret", "token"):
            value = getattr(section, key, None)
            if isinstance(value, str):
                values.append(value)
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret and token-shaped value replaced by [redacted]."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _BOT_TOKEN.sub(MASK, text)
    text = _FEED_PATH.sub(rf"\1{MASK}\2", text)
    return _SIGNED.sub(rf"\1{MASK}", text)


class RedactingFilter(logging.Filter):
    """A handler filter: formats the record's message, redacts it, and freezes the result
    (so no handler formats the raw arguments again); tracebacks likewise."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def add(self, *secrets: str) -> None:
        """Hide these values too (e.g. personal feed tokens as they are made)."""
        self.secrets += [s for s in secrets if s and s not in self.secrets]
        self.secrets.sort(key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Always lets the record through, redacted."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: still log something, still redacted
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
            record.exc_info = None  # the formatter uses exc_text, never the raw exception
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install(config: Config, handlers: Iterable[logging.Handler] | None = None) -> RedactingFilter:
    """Attach one RedactingFilter to `handlers` (the root logger's by default)."""
    redactor = RedactingFilter(config_secrets(config))
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor


# What a command line prints while it logs only warnings: the message alone (the command's
# own output stays readable); with INFO or DEBUG, when and where each line comes from.
_SHORT_FORMAT = "%(message)s"
_FULL_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(
    config: Config | None, *, quiet: bool, brief: bool = False
) -> RedactingFilter:
    """Log to stderr through one RedactingFilter: at `bot.log_level`, except that `quiet` turns
    INFO into WARNING (a command's own output, the console chat stay readable); DEBUG and the
    levels above INFO are kept. `brief`: while only warnings are logged, the message alone.
    Without a config (it could not be read: the command says why) only warnings are logged,
    and token-shaped values are still hidden. A host that set up logging itself (handlers on
    the root logger already, as under pytest) keeps its own."""
    level = config.bot.log_level.upper() if config is not None else "WARNING"
    numeric = logging.getLevelName(level)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    if quiet and numeric == logging.INFO:
        numeric = logging.WARNING
    redactor = RedactingFilter(config_secrets(config) if config is not None else ())
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler(sys.stderr)
        short = brief and numeric >= logging.WARNING
        stream.setFormatter(logging.Formatter(_SHORT_FORMAT if short else _FULL_FORMAT))
        stream.addFilter(redactor)
        root.addHandler(stream)
        root.setLevel(numeric)
    # httpx logs every request at INFO; the filter hides the token in the URL, and the lines
    # are noise besides. Alembic logs its plugins and SQL dialect at INFO; coordbot says
    # itself what a migration created, stamped or upgraded.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return redactor
