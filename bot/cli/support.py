"""Shared plumbing for CLI commands: config + services from the parsed arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.services import Services


@contextmanager
def open_services(args: argparse.Namespace, now: str | None = None) -> Iterator[Services]:
    """Services for one CLI command; `now` (ISO 8601) fixes the clock."""
    # Imported here, not above: print_json serves the cached `coordbot ask`, which never
    # loads the database layer.
    from bot.clock import build_clock
    from bot.config import load_config
    from bot.services import build_services

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
