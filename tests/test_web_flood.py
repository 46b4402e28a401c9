"""One client must not take the service down: 1,100 idle connections and a burst of
malformed requests against `coordbot run` under a 1,024 file limit (tests/flood.py)."""

from __future__ import annotations

import os
import resource

import pytest

from tests.flood import FILE_LIMIT, IDLE_CONNECTIONS, run_flood
from tests.smtp_server import SmtpTestServer


@pytest.mark.db
async def test_healthz_and_mail_survive_a_flood_of_idle_connections(
    smtp_server: SmtpTestServer,
) -> None:
    # This process holds the flood's client ends: it needs more than the server may have.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE_CONNECTIONS + 200:
        raise AssertionError(f"the test needs a hard file limit above {IDLE_CONNECTIONS + 200}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE_CONNECTIONS + 500), hard))
    try:
        env = {
            **os.environ,
            "COORDBOT_EMAIL_SMTP_HOST": smtp_server.host,
            "COORDBOT_EMAIL_SMTP_PORT": str(smtp_server.port),
            "COORDBOT_EMAIL_SECURITY": "none",
            "COORDBOT_EMAIL_FROM_ADDRESS": "coordbot@u4ssc-norge.example.org",
        }
        result = await run_flood(env, lambda: len(smtp_server.messages), seconds=4.0)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    report = "\n".join(result.lines()) + "\n" + result.log_head
    assert result.idle_opened == IDLE_CONNECTIONS > FILE_LIMIT, report
    assert result.healthz_answered == result.healthz_polls, report
    assert result.healthz_worst < 1.0, report
    assert result.mail_seconds is not None, report
    assert [m.parsed()["Subject"] for m in smtp_server.messages] == ["during the flood"]
    assert result.log_bytes < 1_000_000, report
    # Flooders and malformed requests are summarised, not logged one by one.
    assert "Traceback" not in result.log_head, report
    assert result.log_head.count("Error handling request") <= 1, report
    assert "idle connection(s) dropped at the cap" in result.log_head, report
