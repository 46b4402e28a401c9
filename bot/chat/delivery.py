"""/subscribe, /unsubscribe, /subscriptions, /done and /broadcast for the chat service.

On Telegram these commands have handlers of their own (handlers/telegram/broadcast.py,
subscriptions.py, reminders.py: previews, confirm buttons, progress messages); this module
serves them where those do not reach, the console above all, whose operator has the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.delivery_commands import change_subscription, done_command, subscription_overview
from bot.chat.reply import Reply, plain, text_reply
from bot.i18n import gettext

if TYPE_CHECKING:
    from bot.chat.service import Context
    from bot.services import Services

# What the console operator runs instead (subscriptions belong to Telegram users and e-mail
# recipients, who unsubscribe with the link in every broadcast e-mail).
CLI_EQUIVALENT = {
    "done": "coordbot remind done DEADLINE MUNICIPALITY",
    "broadcast": 'coordbot broadcast --audience NAME --text "…"',
}


def delivery_command(services: Services, name: str, ctx: Context, args: str) -> Reply:
    """Answer one delivery command for a sender of any transport."""
    lang = ctx.lang
    user_id = ctx.sender.user_id
    if ctx.sender.console or user_id is None:
        if name in CLI_EQUIVALENT:
            return text_reply(
                lang,
                plain(
                    gettext(
                        lang,
                        "On the console, use the command line: {command}",
                        command=CLI_EQUIVALENT[name],
                    )
                ),
            )
        return text_reply(
            lang,
            plain(
                gettext(
                    lang,
                    "Subscriptions belong to Telegram users and e-mail recipients; every broadcast e-mail carries an unsubscribe link.",
                )
            ),
        )
    if name in ("subscribe", "unsubscribe"):
        reply = change_subscription(
            services, user_id, args, subscribe=name == "subscribe", lang=lang
        )
    elif name == "subscriptions":
        reply = subscription_overview(services, user_id, lang)
    elif name == "done":
        reply = done_command(services, user_id, args, lang)
    else:
        reply = gettext(lang, "Send /broadcast AUDIENCE and the message as a command of its own.")
    return text_reply(lang, plain(reply))
