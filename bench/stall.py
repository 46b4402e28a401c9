"""Event-loop stalls of `coordbot run`: /healthz latency while the chat works.

`coordbot run` (Telegram against the Bot API stand-in, SQLite) gets a question every 50 ms
from ten users and a coordinator's registry edit (`/event ... place ...`) every second, while
another process holds the database's write lock for 0.5 s in every second (as a registry import
or a CLI command does). /healthz is polled back to back meanwhile; its latency is the time the
event loop was not free. Prints the polls' p50, p99 and worst, and how many replies came.

    python bench/stall.py [--seconds 15] [--repo PATH] [--contacts N]

`--repo` runs another checkout's code (e.g. the code before a change) with the same driver.
`--contacts N` fills the registry with N synthetic contacts (bench/synthetic.py) first, and
the coordinator's edit every second is then an e-mail change (`/email KEY ADDRESS`) of one of
them, as in a registry of a national programme's size. Target: worst stall under 100 ms.
"""

# ruff: noqa: E402  (the path fix below must run before the imports after it)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/calendar.py would hide the
# standard library's calendar module: the repository root goes there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import asyncio
import itertools
import json
import os
import re
import sqlite3
import statistics
import tempfile
import threading
import time

from bench.synthetic import FILL_SCRIPT
from tests.botapi_standin import message_update

QUESTIONS = (
    "who is Bodø's data contact?",
    "når er styringsgruppemøtet?",
    "hvem er datakontakt i Bærum?",
    "what is next?",
    "kven er kontakt i Asker?",
    "when is the data deadline?",
)
COORDINATOR = 777
USERS = range(9001, 9011)
TOKEN = "123456:TEST"


async def _standin() -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "botapi_standin.py"),
        "--port",
        "0",
        "--token",
        TOKEN,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode()
    return process, line.split(" on ", 1)[1].split(" ", 1)[0]


async def _http(port: int, request: bytes, timeout: float = 30.0) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    return answer


async def _push(origin_port: int, update: dict[str, object]) -> None:
    body = json.dumps(update).encode()
    await _http(
        origin_port,
        b"POST /_standin/updates HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body,
    )


def _writer(database: str, stop: threading.Event, hold: float) -> None:
    """Another process's writes: hold the SQLite write lock `hold` s in every second."""
    connection = sqlite3.connect(database, timeout=60, isolation_level=None)
    connection.execute("CREATE TABLE IF NOT EXISTS bench_writes (at REAL)")
    while not stop.is_set():
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO bench_writes VALUES (?)", (time.time(),))
        stop.wait(hold)
        connection.execute("COMMIT")
        stop.wait(1.0 - hold)
    connection.close()


async def run(
    repo: Path, seconds: float, debug: bool = False, contacts: int = 0
) -> dict[str, float]:
    """Drive one `coordbot run` from `repo`; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        database = f"{tmp}/stall.sqlite3"
        standin, base_url = await _standin()
        standin_port = int(re.search(r":(\d+)/", base_url).group(1))  # type: ignore[union-attr]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COORDBOT_")}
        env.update(
            {
                "PYTHONPATH": str(repo),
                "XDG_DATA_HOME": tmp,
                "COORDBOT_BOT_DATABASE_URL": f"sqlite:///{database}",
                "COORDBOT_TELEGRAM_TOKEN": TOKEN,
                "COORDBOT_TELEGRAM_API_BASE_URL": base_url,
                "COORDBOT_TELEGRAM_POLL_TIMEOUT": "1",
                "COORDBOT_TELEGRAM_COORDINATORS": str(COORDINATOR),
                "COORDBOT_TELEGRAM_QUESTIONS_PER_MINUTE": "0",
                "COORDBOT_CALENDAR_LISTEN": "127.0.0.1:0",
                "COORDBOT_CALENDAR_PUBLIC_BASE_URL": "",
                "COORDBOT_BOT_LOG_LEVEL": "INFO",
            }
        )
        if debug:
            env["PYTHONASYNCIODEBUG"] = "1"  # asyncio logs every callback slower than 100 ms
        edits: list[str] = []
        if contacts:
            filled = await asyncio.create_subprocess_exec(
                sys.executable, "-c", FILL_SCRIPT, str(contacts), cwd=repo, env={**env,
                "PYTHONPATH": f"{repo}{os.pathsep}{ROOT}"}, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            keys = (await filled.communicate())[0].decode().split()
            edits = [f"/email {key} bench{i}@example.org" for i, key in enumerate(keys)]
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
        )
        assert process.stderr is not None
        port = 0
        async with asyncio.timeout(60):
            while not port:
                line = (await process.stderr.readline()).decode()
                if not line:
                    raise RuntimeError("coordbot run ended before serving")
                found = re.search(r"calendar feeds at http://127\.0\.0\.1:(\d+)", line)
                port = int(found.group(1)) if found else 0
        # Wait for Telegram to be polling (it starts last).
        while "polling as" not in line and "started telegram" not in line:
            line = (await process.stderr.readline()).decode()

        async def drain() -> None:
            assert process.stderr is not None
            while line := await process.stderr.readline():
                if debug and b"took" in line and b"Executing" in line:
                    sys.stderr.write(line.decode(errors="replace")[:600])

        drainer = asyncio.create_task(drain())
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        # Baseline: the same polls with nothing else to do, so the machine's own scheduling
        # noise (other processes on the cores) can be told from the service's stalls.
        baseline: list[float] = []
        end = time.perf_counter() + min(5.0, seconds / 3)
        while time.perf_counter() < end:
            started = time.perf_counter()
            await _http(port, request)
            baseline.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)  # the polling interval
        stop = threading.Event()
        writer = threading.Thread(target=_writer, args=(database, stop, 0.5), daemon=True)
        writer.start()
        latencies: list[float] = []
        done = asyncio.Event()

        async def drive() -> None:
            users = itertools.cycle(USERS)
            questions = itertools.cycle(QUESTIONS)
            places = itertools.cycle(("Trondheim", "Oslo"))
            email_edits = itertools.cycle(edits)
            tick = 0
            while not done.is_set():
                await _push(standin_port, message_update(next(users), next(questions)))
                if tick % 20 == 0:
                    edit = f"/event steering-group-meeting place {next(places)}"
                    if edits:
                        edit = next(email_edits)
                    await _push(standin_port, message_update(COORDINATOR, edit))
                tick += 1
                await asyncio.sleep(0.05)  # the driver's pace

        async def poll() -> None:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                started = time.perf_counter()
                await _http(port, request)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)  # the polling interval
            done.set()

        try:
            await asyncio.gather(drive(), poll())
        finally:
            stop.set()
            writer.join()
            process.terminate()
            await process.wait()
            await drainer
            calls = json.loads(
                (
                    await _http(
                        standin_port,
                        b"GET /_standin/calls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    )
                ).split(b"\r\n\r\n", 1)[1]
            )
            standin.terminate()
            await standin.wait()
    replies = sum(1 for c in calls["calls"] if c["method"] == "sendmessage")
    ordered = sorted(latencies)
    idle = sorted(baseline)
    return {
        "idle_p99_ms": 1000 * idle[max(0, int(len(idle) * 0.99) - 1)],
        "idle_worst_ms": 1000 * idle[-1],
        "polls": float(len(ordered)),
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[max(0, int(len(ordered) * 0.99) - 1)],
        "worst_ms": 1000 * ordered[-1],
        "replies": float(replies),
    }


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to drive")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument(
        "--debug", action="store_true", help="asyncio debug mode: show each slow callback"
    )
    parser.add_argument("--contacts", type=int, default=0, help="synthetic contacts first")
    args = parser.parse_args()
    figures = asyncio.run(run(args.repo.resolve(), args.seconds, args.debug, args.contacts))
    size = f", {args.contacts:,} contacts, an e-mail edit a second" if args.contacts else ""
    print(f"stall benchmark ({args.repo}, {args.seconds:g} s{size}, writer holding the lock 50%):")
    print(
        f"  /healthz polls {figures['polls']:.0f}: p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms, worst {figures['worst_ms']:.1f} ms "
        f"(target worst < 100 ms); {figures['replies']:.0f} chat replies"
    )
    print(
        f"  idle baseline (same process, nothing to do): p99 {figures['idle_p99_ms']:.1f} ms, "
        f"worst {figures['idle_worst_ms']:.1f} ms; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
