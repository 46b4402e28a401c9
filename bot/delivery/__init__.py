"""Durable, idempotent, rate-limited delivery over Telegram and e-mail.

models (outbox, broadcast tables) -> outbox (enqueue, claim, settle) -> workers (telegram,
email) with ratelimit and pacing; broadcast and recipients build what goes into the outbox;
component runs the workers inside `coordbot run`.
"""
