"""`coordbot dashboard link [--for ID]` and `coordbot dashboard revoke [--for ID]`.

`link` prints one line, a one-time login URL for the web dashboard (valid 15 minutes, single
use). Without --for the link is the CLI operator's own (whoever can run this has the config
and the database anyway); --for gives it to a coordinator by Telegram user id, and refuses
anyone who is not in telegram.coordinators (exit 2). `revoke` ends open sessions and unused
links at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """The `dashboard` subcommand and its actions."""
    dashboard = sub.add_parser("dashboard", help="the coordinators' web dashboard")
    actions = dashboard.add_subparsers(dest="dashboard_command", metavar="ACTION", required=True)
    link = actions.add_parser(
        "link",
        help="print a one-time login link (valid 15 minutes)",
        description="Print one line: a login URL for the dashboard, usable once within 15 "
        "minutes. Open it in a browser while `coordbot run` is running.",
    )
    link.add_argument(
        "--for", dest="for_id", type=int, metavar="ID", help="a coordinator's Telegram user id"
    )
    link.add_argument("--lang", choices=("en", "nb", "nn"), help="the dashboard's language")
    revoke = actions.add_parser("revoke", help="log out every dashboard session (or one holder's)")
    revoke.add_argument(
        "--for", dest="for_id", type=int, metavar="ID", help="only this coordinator's"
    )


def cmd_dashboard(args: argparse.Namespace) -> int:
    """link | revoke."""
    from datetime import UTC, datetime

    from bot.cli.support import open_services
    from bot.dashboard import auth

    # Login links expire on the wall clock even when bot.now fixes coordbot's clock for a demo.
    now = datetime.now(UTC)
    with open_services(args) as services:
        holder = auth.holder_for(args.for_id)
        if args.dashboard_command == "revoke":
            ended = auth.revoke_sessions(
                services.db, holder if args.for_id is not None else None, now
            )
            print(f"{ended} dashboard session(s) ended; unused login links cancelled.")
            return 0
        from bot.dashboard.views import login_url

        lang = args.lang or services.config.bot.default_language
        try:
            token = auth.issue_link(services.db, services.config, holder, lang, now)
        except auth.NotACoordinator:
            print(
                f"coordbot: {args.for_id} is not a coordinator (telegram.coordinators); "
                "no link made",
                file=sys.stderr,
            )
            return 2
        print(login_url(services, token))
        return 0
