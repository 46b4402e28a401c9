"""`coordbot person forget PERSON [--yes]`: erase a person's data (bot.privacy.forget).

Without --yes it is a dry run: it names the person found and lists what would be erased, and
changes nothing. Exit status: 0 when the person was found (erased with --yes), 2 when PERSON
names nobody or several people (nothing is written then).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """The `person` subcommand and its actions."""
    person = sub.add_parser("person", help="personal data of registry people")
    actions = person.add_subparsers(dest="person_command", metavar="ACTION", required=True)
    forget = actions.add_parser(
        "forget",
        help="erase a person from the registry and everything kept about them",
        description="Erase PERSON (a registry key, an e-mail address or a full name) in one "
        "transaction: the registry entry with roles and audience memberships, the bodies and "
        "addresses of their outbox messages (rows and counts stay; unsent ones are "
        "cancelled), linked chat users, subscriptions, attendance and address data (kept "
        "anonymised where counts need them). Without --yes nothing changes: it shows what "
        "would be erased. The erasure is logged in the audit table as counts only.",
    )
    forget.add_argument("person", metavar="PERSON", help="registry key, e-mail address or name")
    forget.add_argument("--yes", action="store_true", help="erase (default: only show what)")
    forget.add_argument("--json", action="store_true", help="print the counts as JSON")


def cmd_person(args: argparse.Namespace) -> int:
    """forget PERSON [--yes] [--json]."""
    import getpass

    from bot.cli.support import open_services, print_json
    from bot.privacy.forget import ForgetError, forget_person, resolve_person
    from bot.registry.edits.audit import Actor

    with open_services(args) as services:
        services.registry.invalidate()
        match = resolve_person(services.registry.snapshot(), args.person)
        if match.person is None:
            if match.ambiguous:
                print(f"coordbot: “{args.person}” names several people:", file=sys.stderr)
                for p in match.candidates:
                    print(f"  {p.key}  {p.name} <{p.email or '-'}>", file=sys.stderr)
                print("Give the key of the one to erase. Nothing was erased.", file=sys.stderr)
            else:
                print(f"coordbot: no person “{args.person}” in the registry.", file=sys.stderr)
                if match.candidates:
                    print("Did you mean:", file=sys.stderr)
                    for p in match.candidates:
                        print(f"  {p.key}  {p.name}", file=sys.stderr)
                print("Nothing was erased.", file=sys.stderr)
            return 2
        person = match.person
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name for this uid (a container)
            user = "unknown"
        actor = Actor(f"cli:{user}", user)
        try:
            result = forget_person(
                services.db, person.key, actor=actor, now=services.clock.now(), apply=args.yes
            )
        except ForgetError as exc:  # erased meanwhile by another process
            print(f"coordbot: {exc}. Nothing was erased.", file=sys.stderr)
            return 2
        services.registry.invalidate()
        if result.applied:
            from bot.cli.cached_ask import drop_cache

            drop_cache(services.config.database_url)
        if args.json:
            print_json(
                {
                    "person": person.key,
                    "erased": result.applied,
                    "counts": dict(result.counts),
                }
            )
            return 0
        if result.applied:
            print(f"Erased {person.name} ({person.key}):")
        else:
            print(f"Would erase {person.name} ({person.key}) <{person.email or '-'}>:")
        for what, n in result.counts:
            print(f"  {what}: {n}")
        if not result.applied:
            print("Nothing was changed. Run again with --yes to erase.")
        return 0
