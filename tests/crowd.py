"""A crowd for delivery tests: many registry people in one audience, each linked to a chat."""

from __future__ import annotations

from dataclasses import replace

from bot.access import ChatUser
from bot.clock import SystemClock
from bot.config import Config
from bot.registry.data import AudienceRec, PersonRec
from bot.services import build_services


def add_crowd(config: Config, members: int, chat_base: int) -> None:
    """`members` people in the audience "crowd", person n linked to chat `chat_base + n`."""
    services = build_services(config, SystemClock())
    try:
        data = services.registry.snapshot()
        people = tuple(PersonRec(f"member-{n}", f"Member {n}") for n in range(members))
        crowd = AudienceRec("crowd", "Crowd", "Folk", people=tuple(p.key for p in people))
        services.registry.replace(
            replace(data, people=(*data.people, *people), audiences=(*data.audiences, crowd))
        )
        now = services.clock.now()
        with services.db.session() as session:
            session.add_all(
                ChatUser(
                    telegram_user_id=chat_base + n,
                    chat_id=chat_base + n,
                    display_name=f"Member {n}",
                    person_key=f"member-{n}",
                    created_at=now,
                    last_seen_at=now,
                )
                for n in range(members)
            )
    finally:
        services.close()
