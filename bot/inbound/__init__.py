"""Inbound mail: the mailbox coordbot reads.

`parse` reads one RFC 5322 message, `process.Processor` decides what it is (iMIP REPLY, bounce,
auto-reply, unsubscribe, question) and commits its effects together with a Message-ID ledger
row, so a message handled twice has its effects once. `watcher` is the IMAP component of
`coordbot run`; `coordbot mail ingest` (bot/cli/mail.py) handles one message from a file.
"""
