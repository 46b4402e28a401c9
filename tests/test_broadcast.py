"""Broadcasts from the command line and the library: every member reached once, the report,
refused input (exit 2), List-Unsubscribe one-click honoured, an SMTP outage loses nothing."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import access
from bot.cli import main
from bot.clock import FixedClock
from bot.config import TelegramConfig
from bot.delivery.broadcast import (
    BroadcastRefused,
    broadcast_report,
    check_request,
    deliver_until_finished,
    format_report,
    queue_broadcast,
    save_draft,
    source_of,
)
from bot.delivery.component import build_workers
from bot.delivery.pacing import VirtualPacer
from bot.registry.quality import email_defects
from bot.services import Services
from bot.subscriptions import Subscriptions, add_unsubscribe_routes
from handlers.telegram.outbound import PtbTransport
from tests.botapi_standin import BotApiStandIn
from tests.mail_checks import UNSUBSCRIBE_HEADER, raw_header
from tests.smtp_server import SmtpTestServer, smtp_env

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
def smtp(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> SmtpTestServer:
    smtp_env(smtp_server, monkeypatch)
    monkeypatch.setenv("COORDBOT_DELIVERY_BACKOFF_SECONDS", "0.05")
    return smtp_server


def _members_with_good_addresses(services: Services, audience: str) -> set[str]:
    # Addresses `registry check` calls errors (a space, a misspelt domain) are not mailed.
    data = services.registry.snapshot()
    defective = email_defects(data)
    return {
        p.email.lower()
        for p in data.audience_members(audience)
        if p.email and p.key not in defective
    }


def test_cli_broadcast_reaches_every_member_once_and_reports(
    smtp: SmtpTestServer, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "broadcast",
            "--audience",
            "pulje 1",
            "--channel",
            "email",
            "--subject",
            "KPI-data: frist 31. januar",
            "--text",
            "Hei!\nHusk at alle KPI-data skal være samlet inn innen 31. januar. <b>Takk</b>",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    received = [m.parsed() for m in smtp.messages]
    addresses = sorted(str(m["To"].addresses[0].addr_spec).lower() for m in received)
    assert addresses == sorted(_members_with_good_addresses(services, "batch1"))
    assert len(smtp.messages) == len(addresses)  # once each
    first = received[0]
    assert first["Subject"] == "KPI-data: frist 31. januar"
    # Read from the raw bytes that arrived: one unencoded line (RFC 2369), never RFC 2047.
    raw = smtp.messages[0].data
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert re.search(
        rb"\r\nList-Unsubscribe: <https://kalender\.example\.org/unsubscribe\?token=[\w.%-]+&lang=nb>, "
        rb"<mailto:coordbot@u4ssc-norge\.example\.org\?subject=unsubscribe>\r\n(?![ \t])",
        raw,
    )
    # The List-Unsubscribe URL itself, as bytes: test_list_unsubscribe_is_a_plain_url_as_sent.
    for message in smtp.messages:
        assert raw_header(message.data, "List-Unsubscribe-Post") == b"List-Unsubscribe=One-Click"
    assert "<b>Takk</b>" in first.get_content()  # plain text: no markup is interpreted
    assert "progress:" in err and "queued" in err
    assert f"{len(addresses)} sent, 0 failed" in out
    assert (
        "unreachable on email (address defective: address 'randi. myhre@molde.kommune.no' "
        "contains a space"
    ) in out
    assert "did you mean 'karmoy.kommune.no'? A misspelt domain" in out
    assert "0 still queued" in out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["--subject", "hi\r\nBcc: all@example.org", "--text", "x"],
            "subject contains a line break",
        ),
        (["--text", "x" * 3501], "limit is 3500"),
        (["--text", "bell \x07"], "control characters (U+0007)"),
        (["--channel", "fax", "--text", "x"], "--channel must be telegram, email or both"),
        (["--subject", "", "--text", "x"], "the subject is empty"),
    ],
)
def test_refused_input_exits_2_with_the_reason(
    args: list[str], reason: str, capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    assert main(["broadcast", "--audience", "network", *args]) == 2
    assert reason in capsys.readouterr().err
    assert services.outbox.progress(source_of(1)).total == 0


def test_a_file_that_is_not_utf8_or_too_big_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("blåbær".encode("latin-1"))
    assert main(["broadcast", "--audience", "network", "--file", str(latin)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
    monkeypatch.setenv("COORDBOT_DELIVERY_MAX_FILE_BYTES", "10")
    big = tmp_path / "big.txt"
    big.write_text("x" * 11)
    assert main(["broadcast", "--audience", "network", "--file", str(big)]) == 2
    assert "is 11 bytes; the limit is 10" in capsys.readouterr().err


async def test_smtp_outage_delays_but_loses_nothing(
    smtp: SmtpTestServer, services: Services, clock: FixedClock
) -> None:
    request = check_request(
        services,
        audience="network",
        channels="email",
        subject="Møte",
        text="Hei",
        created_by="t",
        widen=True,  # every contact of the member municipalities
    )
    broadcast = save_draft(services, request)
    expected = queue_broadcast(services, broadcast)
    # The server drops the first three connections at MAIL, then refuses one address with
    # 451 twice and refuses another one for good.
    smtp.drop_connection("MAIL", times=3)
    smtp.refuse("tom.rian@alesund.kommune.no", 451, "4.2.0 mailbox busy", times=2)
    smtp.refuse("gro.saeten@rana.kommune.no", 550, "5.1.1 no such user")
    pacer = VirtualPacer(clock)
    workers = build_workers(services, telegram=None, mailer=services.mailer, pacer=pacer)
    await deliver_until_finished(
        workers, services.outbox, clock, source_of(broadcast), give_up_after=3600
    )
    got = [str(m.parsed()["To"].addresses[0].addr_spec).lower() for m in smtp.messages]
    assert len(got) == len(set(got)) == expected - 1
    report = broadcast_report(services, broadcast)
    assert report.sent == expected - 1 and report.pending == 0
    assert [(f.name, f.reason) for f in report.failed] == [
        ("Gro Sæten", "recipient refused: gro.saeten@rana.kommune.no: 550 5.1.1 no such user")
    ]
    rows = {r.address: r for r in services.outbox.rows(source_of(broadcast))}
    assert rows["tom.rian@alesund.kommune.no"].attempts >= 3
    assert pacer.slept > 0  # the retries waited their backoff (on virtual time)


async def test_one_click_unsubscribe_is_honoured_from_then_on(
    smtp: SmtpTestServer, services: Services, clock: FixedClock
) -> None:
    subscriptions = Subscriptions(services.db, services.clock, services.config)
    request = check_request(
        services,
        audience="network",
        channels="email",
        subject="Nytt",
        text="Hei",
        created_by="t",
        widen=True,  # every contact of the member municipalities
    )
    first = save_draft(services, request)
    queue_broadcast(services, first)
    rows = services.outbox.rows(source_of(first))
    geir = next(r for r in rows if r.recipient == "geir-graff")
    gro = next(r for r in rows if r.recipient == "gro-saeten")
    found = re.search(rb"\r\nList-Unsubscribe: <(https://[^>]+)>", geir.body)
    assert found is not None
    url = urlsplit(found.group(1).decode("ascii"))
    assert url.path == "/unsubscribe"

    app = web.Application()
    add_unsubscribe_routes(app, subscriptions)
    async with TestClient(TestServer(app)) as client:
        # GET (what a link scanner does) only shows a button; it unsubscribes nobody.
        page = await client.get(f"/unsubscribe?{url.query}")
        assert page.status == 200 and "Unsubscribe" in await page.text()
        assert subscriptions.opted_out("network", "email") == set()
        # RFC 8058 one-click: POST with List-Unsubscribe=One-Click.
        done = await client.post(
            f"/unsubscribe?{url.query}", data={"List-Unsubscribe": "One-Click"}
        )
        assert done.status == 200
        forged = parse_qs(url.query)["token"][0][:-2] + "xx"
        refused = await client.post("/unsubscribe", params={"token": forged})
        assert refused.status == 400
        # Gro unsubscribes too, from another broadcast's link.
        token = subscriptions.token("gro-saeten", "network", "email")
        assert (await client.post("/unsubscribe", params={"token": token})).status == 200
    assert subscriptions.opted_out("network", "email") == {"geir-graff", "gro-saeten"}

    # The rows already queued for them are not sent; the next broadcast leaves them out.
    workers = build_workers(
        services, telegram=None, mailer=services.mailer, pacer=VirtualPacer(clock)
    )
    await deliver_until_finished(
        workers, services.outbox, clock, source_of(first), give_up_after=60
    )
    second = save_draft(services, request)
    queue_broadcast(services, second)
    assert {r.recipient for r in services.outbox.rows(source_of(second))}.isdisjoint(
        {"geir-graff", "gro-saeten"}
    )
    report = broadcast_report(services, first)
    assert sorted(line.name for line in report.unsubscribed) == ["Geir Graff", "Gro Sæten"]
    assert "2 unsubscribed" in format_report(report)
    sent_to = {str(m.parsed()["To"].addresses[0].addr_spec) for m in smtp.messages}
    assert geir.address not in sent_to and gro.address not in sent_to


def test_list_unsubscribe_is_a_plain_url_as_sent(
    smtp: SmtpTestServer, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    """The header as the SMTP server received it: `<URL>` in plain ASCII, the URL of the
    recipient's own one-click link, for every recipient."""
    assert main(["broadcast", "--audience", "network", "--channel", "email", "--text", "Hei"]) == 0
    subscriptions = Subscriptions(services.db, services.clock, services.config)
    people = {p.email.lower(): p.key for p in services.registry.snapshot().people if p.email}
    assert smtp.messages
    for message in smtp.messages:
        value = raw_header(message.data, "List-Unsubscribe")
        match = UNSUBSCRIBE_HEADER.fullmatch(value)
        assert match is not None, value
        person = people[message.rcpt_tos[0].lower()]
        assert match.group(1).decode() == subscriptions.unsubscribe_url(person, "network")


def test_telegram_broadcast_reaches_linked_members_and_chat_subscribers(
    services: Services, clock: FixedClock
) -> None:
    for user_id, person in ((501, "geir-graff"), (502, "tom-rian"), (503, None)):
        access.record_chat_user(
            services.db,
            telegram_user_id=user_id,
            display_name=f"user {user_id}",
            username=None,
            private_chat_id=user_id,
            now=clock.now(),
        )
        if person:
            access.link_person(services.db, user_id, person, by=None)
    access.mark_blocked(services.db, 502, clock.now())
    subscriptions = Subscriptions(services.db, services.clock, services.config)
    subscriptions.record("chat:503", "network", "telegram", True, "telegram")
    request = check_request(
        services,
        audience="network",
        widen=True,
        channels="telegram",
        subject=None,
        text="Møte <i>fredag</i> & lunsj",
        created_by="t",
    )
    broadcast = save_draft(services, request)
    queue_broadcast(services, broadcast)
    rows = {r.address: r for r in services.outbox.rows(source_of(broadcast))}
    assert set(rows) == {"501", "503"}
    text = rows["501"].body.decode()
    assert "Møte &lt;i&gt;fredag&lt;/i&gt; &amp; lunsj" in text
    assert text.startswith("<b>U4SSC Norge: Network of Excellence (bynettverket)</b>")
    report = broadcast_report(services, broadcast)
    assert ("Tom Rian", "telegram", "blocked the bot on Telegram") in [
        (line.name, line.channel, line.reason) for line in report.unreachable
    ]


def test_cli_leaves_what_an_outage_kept_back_for_coordbot_run(
    smtp: SmtpTestServer,
    services: Services,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server drops every connection; bot.now freezes the clock, so retries never come due
    # here: the command gives up after its retry window and exits 0 with the rows queued.
    smtp.drop_connection("MAIL", times=1000)
    monkeypatch.setenv("COORDBOT_BOT_NOW", "2020-01-20T10:00")
    monkeypatch.setenv("COORDBOT_DELIVERY_SEND_WITH_FIXED_CLOCK", "true")
    monkeypatch.setenv("COORDBOT_DELIVERY_BROADCAST_RETRY_SECONDS", "0.5")
    code = main(["broadcast", "--audience", "network", "--channel", "email", "--text", "Hei"])
    out, err = capsys.readouterr()
    assert code == 0, err
    expected = len(_members_with_good_addresses(services, "network"))
    assert "0 sent, 0 failed" in out and f"{expected} still queued" in out
    noun = "message" if expected == 1 else "messages"
    assert f"{expected} {noun} will be retried by `coordbot run`." in out
    assert services.outbox.progress(source_of(1)).counts == {"pending": expected}
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("x" * 3500, True),
        ("&<>" * 1166, True),  # escaping makes the HTML longer, not what Telegram counts
        ("🎉" * 1750, True),  # 3,500 UTF-16 units
        ("🎉" * 1751, False),
        ("🎉" * 3500, False),  # 3,500 characters, but 7,000 units: Telegram counts those
    ],
)
async def test_what_a_telegram_broadcast_accepts_telegram_takes(
    services: Services, clock: FixedClock, text: str, accepted: bool
) -> None:
    """The text limit holds as Telegram counts (UTF-16 units): a text the command takes is
    delivered by the Bot API stand-in, which refuses what Telegram refuses."""
    access.record_chat_user(
        services.db,
        telegram_user_id=501,
        display_name="Geir",
        username=None,
        private_chat_id=501,
        now=clock.now(),
    )
    access.link_person(services.db, 501, "geir-graff", by=None)
    try:
        request = check_request(
            services,
            audience="batch1",  # Geir is Asker's data contact
            channels="telegram",
            subject=None,
            text=text,
            created_by="t",
        )
    except BroadcastRefused as refused:
        assert not accepted, refused
        assert "limit is 3500" in str(refused) and "Telegram" in str(refused)
        return
    assert accepted, "Telegram would refuse this text"
    broadcast = save_draft(services, request)
    assert queue_broadcast(services, broadcast) == 1
    async with BotApiStandIn() as api:
        transport = PtbTransport(TelegramConfig(token=api.token, api_base_url=api.base_url))
        await transport.open()
        try:
            workers = build_workers(
                services, telegram=transport, mailer=None, pacer=VirtualPacer(clock)
            )
            await deliver_until_finished(
                workers, services.outbox, clock, source_of(broadcast), give_up_after=60
            )
        finally:
            await transport.close()
        assert api.refusals == []
        [sent] = api.sent_texts(501)
    assert broadcast_report(services, broadcast).sent == 1
    assert text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in sent
