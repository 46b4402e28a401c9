"""The programme's events in people's calendars: subscription feeds and iMIP invites.

`bot.calendar.api` is the entry point for handlers (feed links and documents from `Services`);
`feeds`, `invites` and `vevent` are pure builders; `dispatch` sends invites and keeps the
ledger (`records`). This package file stays empty so `bot.schema` can import the ledger table
without pulling in the rest.
"""
