"""The registry: its tables, reading and writing, the seed data, CSV, edits, deadline marks and
data-quality checks. `bot.registry.store.Registry` is the service the rest of the bot uses."""
