"""Shared fixtures: an isolated database and config per test, services on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.config import Config, load_config
from bot.services import Services, build_services

if TYPE_CHECKING:
    from tests.smtp_server import SmtpTestServer

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's database or picks up a developer's COORDBOT_* settings."""
    import os

    for name in list(os.environ):
        if name.startswith("COORDBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'coordbot.sqlite3'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def config() -> Config:
    """Config from the (isolated) environment."""
    return load_config()


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at 15 January 2020, 09:00 in Oslo, before every seeded meeting."""
    return FixedClock(datetime(2020, 1, 15, 9, 0, tzinfo=OSLO))


@pytest.fixture
def services(config: Config, clock: FixedClock) -> Iterator[Services]:
    """Services over a freshly seeded database."""
    built = build_services(config, clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A real SMTP server (aiosmtpd, no TLS) on 127.0.0.1 and a free port; see
    tests/smtp_server.py for the faults it can be told to produce."""
    from tests.smtp_server import SmtpTestServer

    with SmtpTestServer() as server:
        yield server
