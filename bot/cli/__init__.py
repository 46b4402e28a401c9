"""The `coordbot` command line (DESIGN.md's CLI contract).

Only argparse is imported up front: each subcommand imports what it needs when it runs, so
`coordbot ask` does not pay for Telegram, aiohttp or icalendar.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> "module:function"; the function takes the parsed Namespace, returns an exit code.
COMMANDS = {
    "run": "bot.app:cmd_run",
    "ask": "bot.cli.query:cmd_ask",
    "events": "bot.cli.query:cmd_events",
    "ics": "bot.cli.ics:cmd_ics",
    "registry": "bot.cli.registry:cmd_registry",
    "remind": "bot.cli.delivery:cmd_remind",
    "broadcast": "bot.cli.delivery:cmd_broadcast",
    "mail": "bot.cli.mail:cmd_mail",
    "attendance": "bot.cli.mail:cmd_attendance",
    "dashboard": "bot.cli.dashboard:cmd_dashboard",
    "outbox": "bot.cli.outbox:cmd_outbox",
    "feeds": "bot.cli.feeds:cmd_feeds",
    "person": "bot.cli.person:cmd_person",
    "backup": "bot.cli.backup:cmd_backup",
    "restore": "bot.cli.backup:cmd_restore",
    "db": "bot.cli.db:cmd_db",
}

OUTBOX_STATUSES = ("held", "pending", "sending", "sent", "failed", "cancelled")


def _version() -> str:
    """The installed package's version (importlib.metadata, no import of the bot itself)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coordbot")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """--version, resolved only when asked for (metadata lookup costs a few milliseconds)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kw: object) -> None:
        print(f"coordbot {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="coordbot", description="Assistant for the U4SSC implementation programme in Norway."
    )
    parser.add_argument(
        "--config", metavar="PATH", help="TOML config file (default: $COORDBOT_CONFIG)"
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser(
        "run",
        help="run the bot: chat, scheduler, delivery and calendar server",
        description="Run the service until SIGINT or SIGTERM: Telegram long polling when "
        "telegram.token is set, else a console chat on a terminal; the reminder scheduler, the "
        "delivery workers and the calendar web server (calendar.listen). Outbox messages are "
        "held until delivery is configured explicitly (see `coordbot outbox`).",
    )

    ask = sub.add_parser("ask", help="answer one question from the registry")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("--now", metavar="ISO8601", help="answer as if it were this time")
    ask.add_argument("--lang", choices=("en", "nb", "nn"), help="answer in this language")
    ask.add_argument(
        "question", nargs=argparse.REMAINDER, metavar="QUESTION", help="the question, in words"
    )

    events = sub.add_parser("events", help="list events, deadlines and milestones")
    events.add_argument("--json", action="store_true", help="print a JSON list")

    ics = sub.add_parser("ics", help="calendar feeds and invites")
    ics_sub = ics.add_subparsers(dest="ics_command", metavar="ACTION", required=True)
    feed = ics_sub.add_parser("feed", help="print a subscription calendar")
    feed.add_argument("--audience", metavar="NAME", help="only this audience's events")
    feed.add_argument("--municipality", metavar="NAME", help="only this municipality's events")
    feed.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    feed.add_argument("--links", action="store_true", help="print the feeds' subscription links")
    feed.add_argument("--lang", choices=("en", "nb", "nn"), help="language of titles and texts")
    invite = ics_sub.add_parser("invite", help="an iMIP invite (RFC 6047) for one event")
    invite.add_argument(
        "event_key", metavar="EVENT_KEY", help="the event's key (`coordbot events`)"
    )
    target = invite.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="ADDR", help="the recipient's address")
    target.add_argument("--audience", metavar="NAME", help="every member of an audience")
    invite.add_argument("--cancel", action="store_true", help="a CANCEL instead of a REQUEST")
    invite.add_argument("--send", action="store_true", help="send through the SMTP server")
    invite.add_argument("--lang", choices=("en", "nb", "nn"), help="language of the invite")

    registry = sub.add_parser("registry", help="check, import or export the registry")
    reg_sub = registry.add_subparsers(dest="registry_command", metavar="ACTION", required=True)
    check = reg_sub.add_parser(
        "check",
        help="data-quality report",
        description="Report data-quality findings (errors, warnings, info), each with where it "
        "came from. Exit status: 0 when the report was produced, even with findings; 2 when "
        "the registry cannot be read.",
    )
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    imp = reg_sub.add_parser(
        "import",
        help="import a CSV file atomically",
        description="Replace the whole registry with a CSV file (the format `registry export` "
        "writes). Every row is checked first; on any problem each is printed as `row N, field "
        "F: ...`, nothing is imported and the exit status is 2. Events missing from the file "
        "are cancelled, not deleted.",
    )
    imp.add_argument("file", metavar="FILE", help="the CSV file to import")
    exp = reg_sub.add_parser(
        "export",
        help="export the registry as CSV",
        description="Write the whole registry as one CSV file (UTF-8 with BOM, one record per "
        "row) that `registry import` reads back unchanged.",
    )
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    remind = sub.add_parser("remind", help="plan reminders, mark deadlines met")
    remind_sub = remind.add_subparsers(dest="remind_command", metavar="ACTION", required=True)
    plan = remind_sub.add_parser("plan", help="what reminders go out when, to whom")
    plan.add_argument("--now", metavar="ISO8601", help="plan as if it were this time")
    for action, text in (
        ("done", "record that a municipality has met a deadline (no more reminders)"),
        ("undone", "withdraw such a record (reminders resume)"),
    ):
        mark = remind_sub.add_parser(action, help=text)
        mark.add_argument("event", metavar="EVENT", help="the deadline's key, e.g. data-deadline")
        mark.add_argument("municipality", metavar="MUNICIPALITY", help="the municipality")

    broadcast = sub.add_parser(
        "broadcast",
        help="send a message to an audience",
        description="Queue one message per reachable member of an audience, deliver them with "
        "a progress bar and print the report. Exit status: 0 when every message was sent or "
        "left queued for `coordbot run`; 2 for refused input; 3 when nothing at all could be "
        "sent (all failed, unreachable or held).",
    )
    broadcast.add_argument(
        "--audience", metavar="NAME", required=True, help="the audience's key or name"
    )
    broadcast.add_argument(
        "--channel",
        default="telegram,email",
        metavar="telegram,email",
        help="channels to send on, comma-separated (default: both)",
    )
    broadcast.add_argument("--subject", metavar="S", help="the e-mail subject (one line)")
    body = broadcast.add_mutually_exclusive_group(required=True)
    body.add_argument("--text", metavar="T", help="the message text")
    body.add_argument("--file", metavar="F", help="read the message text from a UTF-8 file")
    broadcast.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; queue nothing"
    )
    broadcast.add_argument(
        "--widen",
        action="store_true",
        default=None,
        help="also reach every contact of the audience's municipalities (not only its role "
        "holders, e.g. the network's representatives)",
    )

    mail = sub.add_parser("mail", help="inbound mail")
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    ingest = mail_sub.add_parser(
        "ingest",
        help="handle one inbound message (question, invite answer, bounce, unsubscribe)",
        description="Handle one RFC 5322 message from FILE or standard input and deliver any "
        "reply it queued. Exit status: 0 for every message it could read, including ones it "
        "ignores on purpose; 1 for one a person has to read (the coordinators are told); 2 "
        "when the file cannot be read.",
    )
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE|-",
        help="the message (default -: standard input)",
    )
    attendance = sub.add_parser("attendance", help="who answered an event's invite how")
    attendance.add_argument("event", metavar="EVENT", help="the event key, e.g. network-meeting")
    attendance.add_argument("--json", action="store_true", help="print a JSON list")
    from bot.cli.dashboard import add_parser as add_dashboard_parser

    add_dashboard_parser(sub)

    outbox = sub.add_parser(
        "outbox",
        help="list outbox messages: held, pending, failed, sent",
        description="Every message coordbot sends is an outbox row first. `held` rows wait "
        "for the operator: e-mail until email.smtp_host and email.from_address are set, "
        "Telegram until telegram.token is, everything while bot.now is fixed unless "
        "delivery.send_with_fixed_clock = true.",
    )
    outbox.add_argument("--json", action="store_true", help="print a JSON list")
    outbox.add_argument(
        "--status", choices=OUTBOX_STATUSES, metavar="S", help="only messages in this status"
    )
    outbox_sub = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=False)
    purge = outbox_sub.add_parser(
        "purge",
        help="erase bodies and addresses of messages older than delivery.retention_days",
        description="Erase the body, address and recipient name of every delivered, failed "
        "or cancelled message older than delivery.retention_days (from sending; from queueing "
        "for failed and cancelled ones). Rows, statuses and counts stay. `coordbot run` does "
        "this every hour by itself.",
    )
    purge.add_argument("--days", type=int, metavar="N", help="instead of delivery.retention_days")
    purge.add_argument("--now", metavar="ISO8601", help="purge as if it were this time")
    purge.add_argument("--dry-run", action="store_true", help="only count what would be purged")
    from bot.cli.person import add_parser as add_person_parser

    add_person_parser(sub)

    feeds = sub.add_parser("feeds", help="personal calendar feed links")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    feeds_list = feeds_sub.add_parser("list", help="who has a personal feed token")
    feeds_list.add_argument("--json", action="store_true", help="print a JSON list")
    revoke = feeds_sub.add_parser(
        "revoke",
        help="revoke a user's personal feed token (their links stop working)",
        description="Revoke the personal feed token of a Telegram user; their next /calendar "
        "gives them a new one.",
    )
    revoke.add_argument("user", metavar="USER", help="the Telegram user id")

    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database to FILE while the bot runs",
        description="Write a consistent copy of the SQLite database (SQLite's online backup: "
        "safe while `coordbot run` writes) to FILE, mode 0600, replacing FILE only once the "
        "copy is complete and checked. For PostgreSQL use pg_dump (see the README). Exit "
        "status: 0 done; 1 the copy failed; 2 refused (not SQLite, no database, FILE is the "
        "database).",
    )
    backup.add_argument("file", metavar="FILE", help="where to write the backup")
    restore = sub.add_parser(
        "restore",
        help="replace the SQLite database with a backup (stop the bot first)",
        description="Replace the SQLite database with the contents of FILE, a file written by "
        "`coordbot backup`, after checking that it is intact and is a coordbot database. Stop "
        "`coordbot run` first and start it again afterwards. For PostgreSQL use pg_restore (see "
        "the README). Exit status: 0 done; 1 the copy failed; 2 refused.",
    )
    restore.add_argument("file", metavar="FILE", help="the backup to restore")
    from bot.cli.db import add_parser as add_db_parser

    add_db_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coordbot` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, func_name = COMMANDS[args.command].split(":")
    from bot.config import ConfigError
    from bot.registry.data import RegistryFileError

    _configure_logging(args)
    try:
        command = getattr(importlib.import_module(module_name), func_name)
        return int(command(args))
    except (ConfigError, RegistryFileError) as exc:
        print(f"coordbot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Imported only now: the database layer is not needed by a cached `coordbot ask`.
        from bot.db import SchemaError

        if not isinstance(exc, SchemaError):
            raise
        print(f"coordbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _configure_logging(args: argparse.Namespace) -> None:
    """Every command logs through the secret-redacting filter (bot.redact), at
    `bot.log_level`; INFO lines only for `coordbot run` with Telegram or without a terminal
    (the console chat, like every other command's output, stays readable)."""
    from bot import redact
    from bot.config import ConfigError, load_config

    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError:
        config = None  # the command reports it; until then token-shaped values are hidden
    quiet = args.command != "run" or (
        sys.stdin.isatty() and not (config is not None and config.telegram.token)
    )
    redact.configure_logging(config, quiet=quiet, brief=args.command != "run")


if __name__ == "__main__":
    raise SystemExit(main())
