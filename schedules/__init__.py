"""Reminders: rules from config (rules), "deadline met" marks (marks), a pure plan derived
from the registry (plan), fired reminders written to the outbox (fire), and the APScheduler
component that fires them on time (scheduler). A fired job writes outbox rows; it never
sends anything itself."""
