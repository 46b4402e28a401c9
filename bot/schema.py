"""The one place that registers every table on `Base.metadata`: import this before creating,
migrating or inspecting the schema. Each part keeps its tables in its own module."""

from __future__ import annotations

import bot.access
import bot.calendar.records
import bot.dashboard.auth
import bot.delivery.models
import bot.inbound.models
import bot.registry.edits.audit
import bot.registry.marks
import bot.registry.tables
import bot.subscriptions
from bot.db import Base

# Importing a module defines its tables on Base.metadata; naming them here keeps the imports.
TABLE_MODULES = (
    bot.registry.tables,  # municipality, organisation, person, role, audience, event, meta
    bot.registry.marks,  # deadline_done
    bot.registry.edits.audit,  # registry_edit
    bot.access,  # chat_user
    bot.subscriptions,  # subscription
    bot.calendar.records,  # calendar_invite
    bot.delivery.models,  # outbox, broadcast
    bot.inbound.models,  # inbound_message, attendance, address_hold, address_temporary_failure
    bot.dashboard.auth,  # dashboard_link, dashboard_session
)
METADATA = Base.metadata
