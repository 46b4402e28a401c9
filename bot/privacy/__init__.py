"""Personal data: erasing a person on request (`forget`) and the outbox's retention period
(`retention`)."""
