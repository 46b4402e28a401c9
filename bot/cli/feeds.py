"""`coordbot feeds list [--json]` and `coordbot feeds revoke USER`: personal feed tokens.

When `calendar.public_feeds` is false, each approved or linked user's /calendar links carry
their own token; revoking it makes those links answer 404 at once, and their next /calendar
gives them a new one.
"""

from __future__ import annotations

import argparse
import sys

from bot.access import feed_token_holders, revoke_feed_token
from bot.cli.support import open_services, print_json


def cmd_feeds(args: argparse.Namespace) -> int:
    """feeds list | feeds revoke USER."""
    with open_services(args) as services:
        if args.feeds_command == "list":
            holders = feed_token_holders(services.db)
            if args.json:
                print_json([{"user": u, "created": c.isoformat()} for u, c in holders])
            elif not holders:
                print("No personal feed tokens.")
            for user, created in [] if args.json else holders:
                print(f"{user}\tsince {created.astimezone(services.zone):%Y-%m-%d %H:%M}")
            return 0
        user_text = args.user.strip()
        if not user_text.lstrip("-").isdigit():
            print(f"coordbot: USER must be a Telegram user id, got {args.user!r}", file=sys.stderr)
            return 2
        if revoke_feed_token(services.db, int(user_text)):
            print(f"Revoked the feed token of user {user_text}: their links no longer work.")
        else:
            print(f"User {user_text} has no feed token; nothing to revoke.")
        return 0
