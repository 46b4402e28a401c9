"""The chat commands every transport offers, and parsing "/command@bot args" text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.i18n import N_

# "delivery" commands have Telegram handlers of their own (handlers/telegram/broadcast.py,
# subscriptions.py, reminders.py); they are listed here for /help, the menu and the console.
Group = Literal["account", "directory", "admin", "delivery"]


@dataclass(frozen=True)
class CommandSpec:
    """One command: its group (which handler module serves it) and who may use it."""

    name: str
    group: Group
    coordinator_only: bool = False
    args: str = ""
    # The one-line description (help text and command menu), an English msgid marked with N_.
    description: str = ""


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "account", description=N_("what this bot can do")),
    CommandSpec("help", "account", description=N_("commands and examples")),
    CommandSpec(
        "lang", "account", args="en|nb|nn", description=N_("reply in English, bokmål or nynorsk")
    ),
    CommandSpec(
        "who", "directory", description=N_("who is a contact, e.g. /who data contact Bodø")
    ),
    CommandSpec("when", "directory", description=N_("when is an event, e.g. /when steering group")),
    CommandSpec("next", "directory", description=N_("what happens next")),
    CommandSpec(
        "events",
        "directory",
        args="[all|keys]",
        description=N_("upcoming events and deadlines (all: every one; keys: with their keys)"),
    ),
    CommandSpec("calendar", "directory", description=N_("the programme calendar to subscribe to")),
    CommandSpec(
        "users", "admin", coordinator_only=True, description=N_("people who have talked to the bot")
    ),
    CommandSpec(
        "approve",
        "admin",
        coordinator_only=True,
        args="USER_ID",
        description=N_("let a user ask the directory"),
    ),
    CommandSpec(
        "revoke",
        "admin",
        coordinator_only=True,
        args="USER_ID",
        description=N_("withdraw an approval"),
    ),
    CommandSpec(
        "link",
        "admin",
        coordinator_only=True,
        args="USER_ID PERSON",
        description=N_("link a user to a registry person (key or full name)"),
    ),
    CommandSpec(
        "unlink",
        "admin",
        coordinator_only=True,
        args="USER_ID",
        description=N_("remove a user's link"),
    ),
    CommandSpec(
        "event",
        "admin",
        coordinator_only=True,
        args="EVENT date|time|place|cancel|restore …",
        description=N_(
            "move, re-place, cancel or restore an event (alone: how, and the event keys)"
        ),
    ),
    CommandSpec(
        "email",
        "admin",
        coordinator_only=True,
        args="PERSON ADDRESS",
        description=N_("change a person's e-mail address (- removes it)"),
    ),
    CommandSpec(
        "contact",
        "admin",
        coordinator_only=True,
        args="MUNICIPALITY ROLE [remove] PERSON",
        description=N_("who holds a role at a municipality, and changing it"),
    ),
    CommandSpec(
        "person",
        "admin",
        coordinator_only=True,
        args="PERSON | add NAME [ADDRESS]",
        description=N_("show a person, or add one: /person add NAME [ADDRESS]"),
    ),
    CommandSpec(
        "attendance",
        "admin",
        coordinator_only=True,
        args="EVENT",
        description=N_("who accepted or declined an event's invite"),
    ),
    CommandSpec(
        "subscribe",
        "delivery",
        args="AUDIENCE [telegram|email]",
        description=N_("get an audience's messages here or by e-mail"),
    ),
    CommandSpec(
        "unsubscribe",
        "delivery",
        args="AUDIENCE [telegram|email]",
        description=N_("stop an audience's messages"),
    ),
    CommandSpec("subscriptions", "delivery", description=N_("what you receive, and where")),
    CommandSpec(
        "done",
        "delivery",
        args="DEADLINE MUNICIPALITY",
        description=N_("report a deadline met for a municipality"),
    ),
    CommandSpec(
        "broadcast",
        "delivery",
        coordinator_only=True,
        args="AUDIENCE [CHANNELS] TEXT",
        description=N_("send a message to an audience (preview first)"),
    ),
)
COMMAND_BY_NAME = {spec.name: spec for spec in COMMANDS}

# Telegram's rule for command names: 1-32 of a-z, 0-9 and _; "@botname" may follow.
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?=\s|$)(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ParsedCommand:
    """ "/who@coordbot Bodø" -> name "who", target "coordbot", args "Bodø"."""

    name: str
    target: str | None
    args: str


def parse_command(text: str) -> ParsedCommand | None:
    """The command at the start of `text`, or None when the text is not a command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, target, args = match.groups()
    return ParsedCommand(name.lower(), target, args.strip())


def commands_in(group: Group) -> tuple[CommandSpec, ...]:
    """The commands one handler group serves."""
    return tuple(spec for spec in COMMANDS if spec.group == group)
