"""Coordinator commands: list chat users, approve them, link them to registry people.

The caller (ChatService) has already checked that the sender is a coordinator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bot import access
from bot.chat.reply import Line, Reply, bold, plain, text_reply
from bot.i18n import Lang, gettext
from bot.registry.data import PersonRec, RegistryData
from bot.services import Services
from bot.textnorm import fold

if TYPE_CHECKING:
    from bot.chat.service import Context

USERS_SHOWN = 50


def _unknown_user(lang: Lang, user_id: int) -> Reply:
    """The refusal for a user id nobody has written to the bot from."""
    message = gettext(
        lang,
        "No user {user_id} has talked to the bot; ask them to send /start first.",
        user_id=user_id,
    )
    return text_reply(lang, plain(message), kind="not_found")


def _label(user: access.ChatUserView) -> str:
    handle = f" @{user.username}" if user.username else ""
    return f"{user.display_name}{handle} ({user.telegram_user_id})"


def users(services: Services, lang: Lang) -> Reply:
    """Chat users, most recently seen first, with their status and link."""
    found = access.list_chat_users(services.db, limit=USERS_SHOWN)
    if not found:
        return text_reply(
            lang, plain(gettext(lang, "Nobody has talked to the bot yet.")), kind="users"
        )
    people = services.registry.snapshot().person_by_key
    lines: list[Line] = [bold(gettext(lang, "People who have talked to the bot:"))]
    for user in found:
        status = []
        if access.is_coordinator(services.config, user.telegram_user_id):
            status.append(gettext(lang, "coordinator"))
        status.append(gettext(lang, "approved") if user.approved else gettext(lang, "not approved"))
        if user.person_key:
            person = people.get(user.person_key)
            status.append(
                f"→ {person.name}"
                if person
                else f"→ {user.person_key} (" + gettext(lang, "not in the registry") + ")"
            )
        if user.blocked_at is not None:
            status.append(gettext(lang, "blocked the bot"))
        language = f", {user.language}" if user.language else ""
        lines.append(plain(f"• {_label(user)}{language}: {', '.join(status)}"))
    return text_reply(lang, *lines, kind="users")


def _user_id(args: str) -> int | None:
    word = args.split()[0] if args.split() else ""
    try:
        return int(word)
    except ValueError:
        return None


def approve(services: Services, ctx: Context, args: str, *, approved: bool) -> Reply:
    """/approve USER_ID and /revoke USER_ID."""
    lang, command = ctx.lang, "approve" if approved else "revoke"
    user_id = _user_id(args)
    if user_id is None:
        return text_reply(
            lang,
            plain(
                gettext(
                    lang, "Usage: /{command} USER_ID (the number /users shows)", command=command
                )
            ),
            kind="usage",
        )
    user = access.approve(services.db, user_id, by=ctx.sender.user_id, approved=approved)
    if user is None:
        return _unknown_user(lang, user_id)
    if approved:
        message = gettext(lang, "{user} may now ask the directory.", user=_label(user))
    else:
        message = gettext(lang, "{user} is no longer approved.", user=_label(user))
    return text_reply(lang, plain(message), kind=command)


def find_person(data: RegistryData, text: str) -> tuple[PersonRec | None, list[PersonRec]]:
    """A person by key or full name (folded), else up to three close names to suggest."""
    wanted = text.strip()
    if wanted in data.person_by_key:
        return data.person_by_key[wanted], []
    folded = fold(wanted)
    exact = [p for p in data.people if fold(p.name) == folded or fold(p.key) == folded]
    if len(exact) == 1:
        return exact[0], []
    names = {p.key: fold(p.name) for p in data.people}
    close = process.extract(folded, names, scorer=fuzz.WRatio, limit=3, score_cutoff=60)
    return None, [data.person_by_key[key] for _name, _score, key in close]


def link(services: Services, ctx: Context, args: str) -> Reply:
    """/link USER_ID PERSON."""
    lang = ctx.lang
    parts = args.split(maxsplit=1)
    user_id = _user_id(args)
    if user_id is None or len(parts) < 2:
        return text_reply(
            lang,
            plain(
                gettext(
                    lang,
                    "Usage: /link USER_ID PERSON (a person key or full name from the registry)",
                )
            ),
            kind="usage",
        )
    person, close = find_person(services.registry.snapshot(), parts[1])
    if person is None:
        lines: list[Line] = [
            plain(gettext(lang, "No person “{person}” in the registry.", person=parts[1][:100]))
        ]
        if close:
            lines.append(plain(gettext(lang, "Did you mean:")))
            lines += [plain(f"  /link {user_id} {p.key}  ({p.name})") for p in close]
        return text_reply(lang, *lines, kind="not_found")
    user = access.link_person(services.db, user_id, person.key, by=ctx.sender.user_id)
    if user is None:
        return _unknown_user(lang, user_id)
    who = f"{person.name} ({person.key})"
    message = gettext(lang, "{user} is now linked to {person}.", user=_label(user), person=who)
    return text_reply(lang, plain(message), kind="link")


def unlink(services: Services, ctx: Context, args: str) -> Reply:
    """/unlink USER_ID."""
    lang = ctx.lang
    user_id = _user_id(args)
    if user_id is None:
        return text_reply(
            lang,
            plain(
                gettext(
                    lang, "Usage: /{command} USER_ID (the number /users shows)", command="unlink"
                )
            ),
            kind="usage",
        )
    user = access.link_person(services.db, user_id, None, by=ctx.sender.user_id)
    if user is None:
        return _unknown_user(lang, user_id)
    return text_reply(
        lang,
        plain(gettext(lang, "{user} is no longer linked to anyone.", user=_label(user))),
        kind="unlink",
    )
