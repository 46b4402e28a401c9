"""Configuration: a TOML file read into frozen dataclasses, every key overridable from the
environment as COORDBOT_<SECTION>_<KEY> (lists comma-separated)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.resources import SEED_FILE
from bot.textnorm import FORMAT_CONTROLS

ENV_PREFIX = "COORDBOT_"
CONFIG_ENV = "COORDBOT_CONFIG"
# The checkout this module sits in: for tests and benchmarks only (an installed package reads
# its data through bot.resources, never from here).
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration file or environment variable that cannot be used."""


def default_database_url() -> str:
    """SQLite file under the user's data directory (XDG), created on first use."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'coordbot' / 'coordbot.sqlite3'}"


@dataclass(frozen=True)
class BotConfig:
    """[bot]: storage, time and who may use the directory."""

    database_url: str = ""
    data_file: str = ""
    timezone: str = "Europe/Oslo"
    now: str = ""
    default_language: str = "nb"
    directory_access: str = "open"
    log_level: str = "INFO"
    # The largest registry CSV `registry import` reads (100,000 contacts are about 20 MB).
    max_import_bytes: int = 64 * 1024 * 1024
    # How often an instance standing by tries to become the leader (the one instance running
    # the reminder scheduler and the mailbox watcher), and the leader checks it still is.
    leader_retry_seconds: float = 5.0
    # Apply schema migrations at start; off: a database behind the code is refused until
    # `coordbot db upgrade` is run (operators who upgrade by hand, after a backup).
    auto_upgrade: bool = True


@dataclass(frozen=True)
class TelegramConfig:
    """[telegram]: the chat transport."""

    token: str = ""
    api_base_url: str = ""
    coordinators: tuple[int, ...] = ()
    questions_per_minute: int = 20
    poll_timeout: int = 30
    # Webhook mode (several instances behind a load balancer): the public HTTPS URL Telegram
    # posts updates to; its path is served by the calendar web server. Empty: long polling.
    webhook_url: str = ""
    # The secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token (from the environment).
    webhook_secret: str = ""


@dataclass(frozen=True)
class EmailConfig:
    """[email]: the SMTP server mail goes out through."""

    smtp_host: str = "localhost"
    smtp_port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    # Empty: no e-mail goes out (mail from an address nobody configured bounces or is junked).
    from_address: str = ""
    from_name: str = "U4SSC Norge - coordbot"
    timeout: float = 60.0
    max_retries: int = 5
    # Optional DKIM signing (dkimpy): all three set, or none.
    dkim_key_file: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""
    # Where coordinators are told about mail that finally failed (empty: Telegram only).
    coordinator_address: str = ""

    @property
    def sending_configured(self) -> bool:
        """True when e-mail may go out: a sender address was configured explicitly."""
        return bool(self.from_address)

    @property
    def sender_domain(self) -> str:
        """The domain of email.from_address (Message-IDs use it)."""
        return self.from_address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class CalendarConfig:
    """[calendar]: feeds, invites and the calendar web server."""

    listen: str = "127.0.0.1:8080"
    public_base_url: str = ""
    feed_token: str = ""
    public_feeds: bool = True
    refresh_interval_hours: int = 12
    alarm_minutes: int = 0
    organizer_name: str = "U4SSC Norge"


@dataclass(frozen=True)
class DeliveryConfig:
    """[delivery]: the outbox workers, their rate limits, retries and broadcast limits."""

    telegram_per_second: float = 30.0
    telegram_per_chat_per_second: float = 1.0
    telegram_per_group_per_minute: int = 20
    telegram_concurrency: int = 16
    email_batch_size: int = 50
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 1800.0
    max_attempts: int = 0
    # How long a message is retried before it fails for good (like a mail server's queue
    # lifetime): a duration such as "2d", "36h" or "90m", or seconds.
    give_up_after: str = "2d"
    broadcast_retry_seconds: float = 120.0
    lease_seconds: float = 600.0
    poll_seconds: float = 5.0
    max_text_chars: int = 3500
    max_subject_chars: int = 200
    max_file_bytes: int = 65536
    unsubscribe_secret: str = ""
    # Outbox messages are held while bot.now is fixed (a demo or test clock) unless this is
    # true: a demo must never mail the real people in the registry (DESIGN.md "Delivery safety").
    send_with_fixed_clock: bool = False
    # Days after which a delivered, finally failed or cancelled message's body, address and
    # recipient name are erased from the outbox (bot.privacy.retention); 0 keeps them forever.
    retention_days: int = 90


@dataclass(frozen=True)
class RemindersConfig:
    """[reminders]: lead times per kind of event and per audience, and when they go out."""

    enabled: bool = True
    morning_time: str = "08:00"
    deadline_lead_times: tuple[str, ...] = ("14d", "3d", "1d", "0d")
    meeting_lead_times: tuple[str, ...] = ("7d", "1d")
    milestone_lead_times: tuple[str, ...] = ()
    audience_lead_times: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("telegram", "email")
    late_after_minutes: int = 10
    recheck_seconds: float = 30.0


@dataclass(frozen=True)
class InboundConfig:
    """[inbound]: the mailbox coordbot reads (answers to invites, bounces, questions)."""

    address: str = ""
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "tls"
    username: str = ""
    password: str = ""
    folder: str = "INBOX"


@dataclass(frozen=True)
class Config:
    """The whole configuration."""

    bot: BotConfig = field(default_factory=BotConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    # "section.key" of every setting given in the config file or the environment (not a
    # default): delivery safety asks whether the operator named the SMTP server on purpose.
    explicit: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def database_url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        return self.bot.database_url or default_database_url()

    @property
    def data_file(self) -> Path:
        """The registry seed file: bot.data_file if configured, else the one in the package."""
        return Path(self.bot.data_file) if self.bot.data_file else SEED_FILE


def _convert(raw: Any, annotation: Any, where: str) -> Any:
    """Convert a TOML or environment value to the field's declared type."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(annotation)
        items = raw
        if isinstance(raw, str):
            items = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {raw!r}")
        return tuple(_convert(item, item_type, where) for item in items)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return None if raw in ("", None) else _convert(raw, args[0], where)
    if annotation is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    if annotation in (int, float):
        if isinstance(raw, bool):
            raise ConfigError(f"{where}: expected a number, got {raw!r}")
        try:
            return annotation(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {raw!r}") from None
    if annotation is str:
        if not isinstance(raw, str | int | float):
            raise ConfigError(f"{where}: expected text, got {raw!r}")
        return str(raw)
    raise ConfigError(f"{where}: unsupported setting type {annotation!r}")


def _build_section(
    cls: type,
    values: Mapping[str, Any],
    env: Mapping[str, str],
    name: str,
    explicit: set[str] | None = None,
) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"[{name}]: unknown key(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        env_name = f"{ENV_PREFIX}{name.upper()}_{f.name.upper()}"
        if env_name in env:
            kwargs[f.name] = _convert(env[env_name], hints[f.name], env_name)
        elif f.name in values:
            kwargs[f.name] = _convert(values[f.name], hints[f.name], f"[{name}] {f.name}")
        else:
            continue
        if explicit is not None:
            explicit.add(f"{name}.{f.name}")
    return cls(**kwargs)


def _sections() -> dict[str, type]:
    """Config's sections by name (the dataclass-typed fields)."""
    return {
        name: cls
        for name, cls in typing.get_type_hints(Config).items()
        if isinstance(cls, type) and dataclasses.is_dataclass(cls)
    }


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any) and apply COORDBOT_* environment overrides."""
    env = os.environ if env is None else env
    path = path or env.get(CONFIG_ENV) or None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    hints = _sections()
    unknown = set(data) - set(hints)
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
    sections = {}
    explicit: set[str] = set()
    for name, section_cls in hints.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{name}] must be a table")
        sections[name] = _build_section(section_cls, values, env, name, explicit)
    config = Config(**sections, explicit=frozenset(explicit))
    _validate(config)
    return config


def parse_duration(text: str, where: str) -> float:
    """Seconds in "2d", "36h", "90m", "45s" or a plain number of seconds; ConfigError if not."""
    value = text.strip().lower()
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    factor = units.get(value[-1:])
    number = value[:-1] if factor is not None else value
    try:
        seconds = float(number) * (factor or 1.0)
    except ValueError:
        raise ConfigError(
            f"{where}: expected a duration like 2d, 36h or 90m, got {text!r}"
        ) from None
    if seconds <= 0:
        raise ConfigError(f"{where}: must be positive, got {text!r}")
    return seconds


# Settings that end up in a mail header or a calendar line: one line, no invisible controls.
_WRITTEN_VALUES = (
    ("email", "from_name"),
    ("email", "from_address"),
    ("email", "coordinator_address"),
    ("calendar", "organizer_name"),
    ("calendar", "public_base_url"),
)


def _validate(config: Config) -> None:
    import re

    if config.email.security not in ("starttls", "tls", "none"):
        raise ConfigError("email.security must be starttls, tls or none")
    if config.bot.directory_access not in ("open", "known"):
        raise ConfigError("bot.directory_access must be open or known")
    if config.bot.default_language not in ("en", "nb", "nn"):
        raise ConfigError("bot.default_language must be en, nb or nn")
    if config.inbound.imap_security not in ("starttls", "tls", "none"):
        raise ConfigError("inbound.imap_security must be starttls, tls or none")
    parse_duration(config.delivery.give_up_after, "delivery.give_up_after")
    if config.delivery.retention_days < 0:
        raise ConfigError("delivery.retention_days must be 0 (keep forever) or more days")
    controls = re.compile(rf"[\x00-\x1f\x7f-\x9f{FORMAT_CONTROLS}]")
    for section, key in _WRITTEN_VALUES:
        value = getattr(getattr(config, section), key)
        match = controls.search(value)
        if match is not None:
            char = match.group()
            what = (
                "a line break"
                if char in "\r\n\x85\u2028\u2029"
                else "a control character"
                if char < " " or "\x7f" <= char <= "\x9f"
                else "an invisible format control"
            )
            raise ConfigError(
                f"{section}.{key} contains {what} (U+{ord(char):04X}); it is written into "
                "mail headers and calendars, which need it on one line without controls"
            )
    dkim = (config.email.dkim_key_file, config.email.dkim_selector, config.email.dkim_domain)
    if any(dkim) and not all(dkim):
        raise ConfigError(
            "email.dkim_key_file, email.dkim_selector and email.dkim_domain go together: "
            "set all three or none"
        )
    _validate_safety(config)


# A shared feed token guards every private feed: shorter ones can be guessed (128+ bits wanted).
MIN_FEED_TOKEN_CHARS = 32
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _validate_safety(config: Config) -> None:
    """One-line errors naming the key, for values that would otherwise fail deep inside."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(config.bot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"bot.timezone: unknown time zone {config.bot.timezone!r} (e.g. Europe/Oslo)"
        ) from None
    if config.bot.max_import_bytes < 1:
        raise ConfigError("bot.max_import_bytes must be a positive number of bytes")
    if config.bot.log_level.upper() not in _LOG_LEVELS:
        raise ConfigError(
            f"bot.log_level must be one of {', '.join(_LOG_LEVELS)}, got {config.bot.log_level!r}"
        )
    _validate_webhook(config.telegram)
    if config.bot.leader_retry_seconds <= 0:
        raise ConfigError("bot.leader_retry_seconds must be positive")
    token = config.calendar.feed_token
    if token and len(token) < MIN_FEED_TOKEN_CHARS:
        raise ConfigError(
            f"calendar.feed_token is too short ({len(token)} characters, at least "
            f"{MIN_FEED_TOKEN_CHARS}); use e.g. `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`"
        )


# Telegram's rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
_WEBHOOK_SECRET = r"[A-Za-z0-9_-]{1,256}"
MIN_WEBHOOK_SECRET_CHARS = 32


def _validate_webhook(telegram: TelegramConfig) -> None:
    """Webhook mode needs a token, an HTTPS URL with a path, and a long secret."""
    import re
    from urllib.parse import urlsplit

    if not telegram.webhook_url:
        return
    url = urlsplit(telegram.webhook_url)
    if url.scheme != "https" or not url.hostname:
        raise ConfigError(
            "telegram.webhook_url must be an https:// URL (Telegram posts only over HTTPS), "
            f"got {telegram.webhook_url!r}"
        )
    if url.path in ("", "/"):
        raise ConfigError(
            "telegram.webhook_url needs a path the web server answers on, "
            "e.g. https://bot.example.org/telegram/webhook"
        )
    if not telegram.token:
        raise ConfigError("telegram.webhook_url is set but telegram.token is empty")
    secret = telegram.webhook_secret
    if len(secret) < MIN_WEBHOOK_SECRET_CHARS or not re.fullmatch(_WEBHOOK_SECRET, secret):
        raise ConfigError(
            "telegram.webhook_url needs COORDBOT_TELEGRAM_WEBHOOK_SECRET: "
            f"{MIN_WEBHOOK_SECRET_CHARS} to 256 characters of A-Z, a-z, 0-9, _ and - "
            f"(got {len(secret)}); e.g. `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`"
        )


def env_warnings(env: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each COORDBOT_* variable that is no setting, naming the nearest one."""
    import difflib

    env = os.environ if env is None else env
    known = {CONFIG_ENV}
    for name, cls in _sections().items():
        known.update(
            f"{ENV_PREFIX}{name.upper()}_{f.name.upper()}" for f in dataclasses.fields(cls)
        )
    warnings = []
    for variable in sorted(env):
        if not variable.startswith(ENV_PREFIX) or variable in known:
            continue
        if variable.startswith(f"{ENV_PREFIX}TEST_"):
            continue  # the test suite's own switches (COORDBOT_TEST_POSTGRES)
        nearest = difflib.get_close_matches(variable, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {nearest[0]}?" if nearest else ""
        warnings.append(f"unknown setting {variable} is ignored{hint}")
    return warnings
