"""Delivery commands in /help, the command menu and the console chat."""

from __future__ import annotations

import pytest

from bot.chat import ChatService, Sender
from bot.services import Services


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

CONSOLE = Sender(None, None, "operator", console=True)


def test_help_and_menu_list_the_delivery_commands(services: Services) -> None:
    chat = ChatService(services)
    help_text = chat.command(Sender(5, 5, "x"), "help", "").plain_text()
    for name in ("/subscribe", "/unsubscribe", "/subscriptions", "/done"):
        assert name in help_text
    assert "/broadcast" not in help_text  # coordinators only
    assert "/broadcast" in chat.command(CONSOLE, "help", "").plain_text()
    menu = dict(chat.menu("nb", coordinator=True))
    assert menu["broadcast"] == "send en melding til en målgruppe (forhåndsvisning først)"
    assert "broadcast" not in dict(chat.menu("en"))


def test_console_points_to_the_command_line(services: Services) -> None:
    chat = ChatService(services)
    done = chat.message(CONSOLE, "/done data-deadline Molde").plain_text()
    assert "coordbot remind done DEADLINE MUNICIPALITY" in done
    assert "coordbot broadcast" in chat.message(CONSOLE, "/broadcast network hei").plain_text()
    assert "unsubscribe link" in chat.message(CONSOLE, "/subscribe network").plain_text()


def test_a_telegram_sender_gets_the_real_command(services: Services) -> None:
    chat = ChatService(services)
    user = Sender(5, 5, "x")
    reply = chat.command(user, "subscriptions", "").plain_text()
    assert reply.startswith("You have made no choices") and "coordbot" not in reply
    chat.command(user, "subscribe", "network")
    chat.command(user, "unsubscribe", "steering group")
    assert chat.command(user, "subscriptions", "").plain_text().splitlines() == [
        "Your choices:",
        "- Network of Excellence (telegram): on",
        "- Steering group (telegram): off",
    ]
    chat.command(user, "unsubscribe", "network")
    norsk = Sender(5, 5, "x", language_code="nb")
    assert chat.command(norsk, "subscriptions", "").plain_text().splitlines()[:2] == [
        "Dine valg:",
        "- Network of Excellence (bynettverket) (telegram): av",
    ]
    # Another user's choices are their own.
    other = chat.command(Sender(6, 6, "y"), "subscriptions", "").plain_text()
    assert other.startswith("You have made no choices")
    usage = chat.command(Sender(5, 5, "x"), "done", "").plain_text()
    assert usage.startswith("Usage: /done DEADLINE MUNICIPALITY")
