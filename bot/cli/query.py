"""`coordbot ask` and `coordbot events`."""

from __future__ import annotations

import argparse


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question; exit 0 even when nothing is found. The answer index is cached
    beside a SQLite database (bot.cli.cached_ask), so the next cold `ask` starts fast."""
    from bot.cli.cached_ask import answer_from_cache, print_answer, question_text, store_cache
    from bot.config import load_config

    # The database layer is imported only when the cached index cannot answer.

    config = load_config(getattr(args, "config", None))
    answered = answer_from_cache(args, config)
    if answered is not None:
        return answered
    from bot.cli.support import open_services

    with open_services(args, now=args.now) as services:
        print_answer(args, services.answers, question_text(args))
        store_cache(config, services.answers, services.registry.snapshot().generation)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """List events and milestones in date order."""
    from bot.cli.support import open_services, print_json
    from bot.registry.events import event_json, format_event_line

    with open_services(args) as services:
        data = services.registry.snapshot()
    events = sorted(data.events, key=lambda e: (e.start_date, e.key))
    if args.json:
        print_json([event_json(e) for e in events])
    else:
        for ev in events:
            print(format_event_line(ev, data, services.config.bot.default_language))
    return 0
