"""The chat commands every transport offers, and parsing "/command@bot args" text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

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

    @property
    def description_key(self) -> str:
        """The i18n key of its one-line description (help text and command menu)."""
        return f"cmd_{self.name}"


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "account"),
    CommandSpec("help", "account"),
    CommandSpec("lang", "account", args="en|nb"),
    CommandSpec("who", "directory"),
    CommandSpec("when", "directory"),
    CommandSpec("next", "directory"),
    CommandSpec("events", "directory", args="[all|keys]"),
    CommandSpec("calendar", "directory"),
    CommandSpec("users", "admin", coordinator_only=True),
    CommandSpec("approve", "admin", coordinator_only=True, args="USER_ID"),
    CommandSpec("revoke", "admin", coordinator_only=True, args="USER_ID"),
    CommandSpec("link", "admin", coordinator_only=True, args="USER_ID PERSON"),
    CommandSpec("unlink", "admin", coordinator_only=True, args="USER_ID"),
    CommandSpec(
        "event", "admin", coordinator_only=True, args="EVENT date|time|place|cancel|restore …"
    ),
    CommandSpec("email", "admin", coordinator_only=True, args="PERSON ADDRESS"),
    CommandSpec(
        "contact", "admin", coordinator_only=True, args="MUNICIPALITY ROLE [remove] PERSON"
    ),
    CommandSpec("person", "admin", coordinator_only=True, args="PERSON | add NAME [ADDRESS]"),
    CommandSpec("subscribe", "delivery", args="AUDIENCE [telegram|email]"),
    CommandSpec("unsubscribe", "delivery", args="AUDIENCE [telegram|email]"),
    CommandSpec("subscriptions", "delivery"),
    CommandSpec("done", "delivery", args="DEADLINE MUNICIPALITY"),
    CommandSpec("broadcast", "delivery", coordinator_only=True, args="AUDIENCE [CHANNELS] TEXT"),
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
