"""Shared plumbing for CLI commands: config + services from the parsed arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.clock import build_clock
from bot.config import load_config
from bot.services import Services, build_services


@contextmanager
def open_services(args: argparse.Namespace, now: str | None = None) -> Iterator[Services]:
    """Services for one CLI command; `now` (ISO 8601) fixes the clock."""
    config = load_config(getattr(args, "config", None))
    services = build_services(config, build_clock(config, now))
    try:
        yield services
    finally:
        services.close()


def print_json(value: Any) -> None:
    """Print one JSON document (UTF-8, not ASCII-escaped) to stdout."""
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
