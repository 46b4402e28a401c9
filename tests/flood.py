"""A flood against `coordbot run` in a subprocess under a 1,024 file limit: 1,100 idle
connections and a stream of malformed requests, while /healthz is polled and one queued
e-mail must go out. Used by tests/test_web_flood.py; as a script it prints the figures for
any checkout (`python tests/flood.py [REPO]`), so the code before a change can be measured
with the same harness.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILE_LIMIT = 1024
IDLE_CONNECTIONS = 1100
MALFORMED_REQUESTS = 300


@dataclass
class FloodResult:
    """What the flood did to the service."""

    healthz_worst: float  # seconds; inf when a poll got no answer within its timeout
    healthz_answered: int
    healthz_polls: int
    mail_seconds: float | None  # until the queued e-mail reached the SMTP server
    log_bytes: int
    log_head: str = ""
    idle_opened: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The figures as printable lines."""
        worst = "no answer" if self.healthz_worst == float("inf") else f"{self.healthz_worst:.3f} s"
        mail = "not sent" if self.mail_seconds is None else f"{self.mail_seconds:.2f} s"
        return [
            f"idle connections opened: {self.idle_opened} (file limit {FILE_LIMIT})",
            f"/healthz: {self.healthz_answered}/{self.healthz_polls} answered, worst {worst}",
            f"queued e-mail delivered after: {mail}",
            f"log: {self.log_bytes} bytes",
        ]


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


async def _healthz(port: int, timeout: float) -> float:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            answer = await reader.read()
            writer.close()
    except (TimeoutError, OSError):
        return float("inf")
    return time.perf_counter() - started if b" 200 " in answer[:20] else float("inf")


async def _malformed(port: int) -> None:
    try:
        async with asyncio.timeout(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /\x00\x01 HTTP/9.9\r\nHost\r\n\r\n")
            await writer.drain()
            await reader.read()
            writer.close()
    except (TimeoutError, OSError):
        pass


def _queue_mail(env: dict[str, str], address: str) -> None:
    """Queue one e-mail in the service's outbox, as another process (the CLI) would."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from bot.config import load_config
        from bot.delivery.outbox import NewMessage
        from bot.services import build_services

        services = build_services(load_config(), seed=False)
        message = EmailMessage()
        message["From"] = "coordbot@u4ssc-norge.example.org"
        message["To"] = address
        message["Subject"] = "during the flood"
        message.set_content("still delivered")
        services.outbox.enqueue(
            [
                NewMessage(
                    source_kind="test",
                    source_id="flood",
                    channel="email",
                    recipient=address,
                    address=address,
                    body=message.as_bytes(),
                    subject="during the flood",
                )
            ]
        )
        services.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def run_flood(
    env: dict[str, str], mail_count: Callable[[], int], repo: Path = REPO, seconds: float = 6.0
) -> FloodResult:
    """Start `coordbot run` from `repo` with `env`, flood it, measure, stop it."""
    env = {
        **env,
        "COORDBOT_CALENDAR_LISTEN": "127.0.0.1:0",
        "COORDBOT_CALENDAR_PUBLIC_BASE_URL": "",
        "COORDBOT_DELIVERY_POLL_SECONDS": "0.2",
        "PYTHONPATH": str(repo),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=repo,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_limit_files,
    )
    assert process.stderr is not None
    head: list[str] = []
    port = 0
    async with asyncio.timeout(60):
        while not port:
            line = (await process.stderr.readline()).decode(errors="replace")
            if not line:
                raise RuntimeError("coordbot run ended before serving:\n" + "".join(head))
            head.append(line)
            found = re.search(r"calendar feeds at http://127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else 0
    size = sum(len(line.encode()) for line in head)
    keep = "".join(head)

    async def drain() -> None:
        nonlocal size, keep
        assert process.stderr is not None
        while chunk := await process.stderr.read(65536):
            size += len(chunk)
            if len(keep) < 20000:
                keep += chunk.decode(errors="replace")

    drainer = asyncio.create_task(drain())
    writers: list[asyncio.StreamWriter] = []
    result = FloodResult(float("inf"), 0, 0, None, 0)
    try:
        for _ in range(IDLE_CONNECTIONS):
            try:
                _reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 2
                )
                writers.append(writer)
            except (TimeoutError, OSError):
                break
        result.idle_opened = len(writers)
        await asyncio.gather(*(_malformed(port) for _ in range(MALFORMED_REQUESTS)))
        await asyncio.to_thread(_queue_mail, env, "flood@example.org")
        queued_at = time.perf_counter()
        latencies = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            latencies.append(await _healthz(port, 1.5))
            if result.mail_seconds is None and mail_count() >= 1:
                result.mail_seconds = time.perf_counter() - queued_at
            await asyncio.sleep(0.2)  # the polling interval of the measurement
        result.healthz_polls = len(latencies)
        result.healthz_answered = sum(x != float("inf") for x in latencies)
        result.healthz_worst = max(latencies)
    finally:
        for writer in writers:
            writer.close()
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
        await drainer
    result.log_bytes = size
    result.log_head = keep
    return result


def _main() -> None:
    repo = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO
    sys.path.insert(0, str(REPO))
    from tests.smtp_server import SmtpTestServer

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, SmtpTestServer() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COORDBOT_")}
        env.update(
            {
                "COORDBOT_BOT_DATABASE_URL": f"sqlite:///{tmp}/flood.sqlite3",
                "XDG_DATA_HOME": tmp,
                "COORDBOT_EMAIL_SMTP_HOST": smtp.host,
                "COORDBOT_EMAIL_SMTP_PORT": str(smtp.port),
                "COORDBOT_EMAIL_SECURITY": "none",
                "COORDBOT_EMAIL_FROM_ADDRESS": "coordbot@u4ssc-norge.example.org",
            }
        )
        result = asyncio.run(run_flood(env, lambda: len(smtp.messages), repo))
    print(f"flood against {repo}")
    for line in result.lines():
        print("  " + line)


if __name__ == "__main__":
    _main()
