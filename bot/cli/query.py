"""`coordbot ask` and `coordbot events`."""

from __future__ import annotations

import argparse

from bot.cli.support import open_services, print_json
from bot.registry.events import event_json, format_event_line


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question; exit 0 even when nothing is found."""
    words = list(args.question)
    if words and words[0] == "--":
        words = words[1:]
    question = " ".join(words)
    with open_services(args, now=args.now) as services:
        answer = services.answers.ask(question, lang=args.lang)
    if args.json:
        print_json(answer.to_json())
    else:
        print(answer.text)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """List events and milestones in date order."""
    with open_services(args) as services:
        data = services.registry.snapshot()
    events = sorted(data.events, key=lambda e: (e.start_date, e.key))
    if args.json:
        print_json([event_json(e) for e in events])
    else:
        for ev in events:
            print(format_event_line(ev, data, services.config.bot.default_language))
    return 0
