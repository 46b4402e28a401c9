"""`coordbot` as a subprocess for the tests that need a real process: start it, stop it with
SIGTERM, and read what it logged."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


async def start_coordbot(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` from the repository root, stderr piped, no standard input."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_with_sigterm(process: asyncio.subprocess.Process, timeout: float) -> tuple[int, str]:
    """SIGTERM (if still running), wait up to `timeout` seconds (killing it if it does not
    stop in time), and return its exit code and everything it wrote to stderr."""
    try:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    return code, (await process.stderr.read()).decode()
