"""/dashboard in chat: a coordinator gets a one-time login link, in a private chat only."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import access
from bot.config import ConfigError
from bot.dashboard import auth
from bot.i18n import gettext
from bot.services import Services


def dashboard_link_text(
    services: Services, user_id: int, *, private: bool, lang: str, now: datetime | None = None
) -> str:
    """The reply to /dashboard: a login link for a coordinator in a private chat, otherwise
    why not. `now` is for tests; links expire on the wall clock."""
    if not access.is_coordinator(services.config, user_id):
        return gettext(lang, "Only the programme's coordinators can do that.")
    if not private:
        return gettext(lang, "A login link is personal: send /dashboard to me in a private chat.")
    from bot.dashboard.views import login_url

    token = auth.issue_link(
        services.db, services.config, auth.holder_for(user_id), lang, now or datetime.now(UTC)
    )
    try:
        url = login_url(services, token)
    except ConfigError:
        return gettext(lang, "The dashboard has no address yet: set calendar.public_base_url.")
    return gettext(
        lang,
        "Your login link for the coordinators' dashboard (works once, for 15 minutes):\n{url}",
        url=url,
    )
