"""A command flood from one Telegram user: 600 `/help` in a burst against `coordbot run`
(Bot API stand-in), and another user's question in the middle of it. Prints how many replies
went out in the next 10 s, the highest sends in any second, the most to the flooder's chat in
any second (Telegram allows 30 and 1), and how long the other user waited.

    python bench/chat_flood.py [--repo PATH]
"""

# ruff: noqa: E402  (the path fix below must run before the imports after it)
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import asyncio
import json
import os
import re
import tempfile
import time

from bench.stall import TOKEN, _http, _push, _standin
from tests.botapi_standin import message_update

FLOODER, OTHER = 9101, 9102
FLOOD = 600


async def run(repo: Path, window: float = 10.0) -> dict[str, float]:
    """Drive one `coordbot run` from `repo`; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        standin, base_url = await _standin()
        standin_port = int(re.search(r":(\d+)/", base_url).group(1))  # type: ignore[union-attr]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COORDBOT_")}
        env.update(
            {
                "PYTHONPATH": str(repo),
                "XDG_DATA_HOME": tmp,
                "COORDBOT_BOT_DATABASE_URL": f"sqlite:///{tmp}/flood.sqlite3",
                "COORDBOT_TELEGRAM_TOKEN": TOKEN,
                "COORDBOT_TELEGRAM_API_BASE_URL": base_url,
                "COORDBOT_TELEGRAM_POLL_TIMEOUT": "1",
                "COORDBOT_CALENDAR_LISTEN": "127.0.0.1:0",
                "COORDBOT_CALENDAR_PUBLIC_BASE_URL": "",
            }
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=repo, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stderr is not None
        line = ""
        while "polling as" not in line:
            line = (await process.stderr.readline()).decode()
            if not line:
                raise RuntimeError("coordbot run ended before polling")

        async def drain() -> None:
            assert process.stderr is not None
            while await process.stderr.read(65536):
                pass

        drainer = asyncio.create_task(drain())
        started = time.time()
        for n in range(FLOOD):
            await _push(standin_port, message_update(FLOODER, "/help"))
            if n == FLOOD // 2:
                await _push(standin_port, message_update(OTHER, "/next"))
        await asyncio.sleep(window)  # the measurement window
        raw = await _http(
            standin_port, b"GET /_standin/calls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        calls = json.loads(raw.split(b"\r\n\r\n", 1)[1])["calls"]
        process.terminate()
        await process.wait()
        await drainer
        standin.terminate()
        await standin.wait()
    sends = [c for c in calls if c["method"] == "sendmessage"]
    # The stand-in records arrival on its own monotonic clock; seconds are relative to it.
    times = sorted(c["at"] for c in sends)
    flooder = sorted(c["at"] for c in sends if int(c["params"]["chat_id"]) == FLOODER)
    other = [c["at"] for c in sends if int(c["params"]["chat_id"]) == OTHER]

    def peak(values: list[float]) -> int:
        return max((sum(1 for v in values if t <= v < t + 1.0) for t in values), default=0)

    first = times[0] if times else 0.0
    return {
        "replies": float(len(sends)),
        "flooder_replies": float(len(flooder)),
        "peak_per_second": float(peak(times)),
        "peak_flooder_chat": float(peak(flooder)),
        "other_answered_after": (other[0] - first) if other else float("nan"),
        "elapsed": time.time() - started,
    }


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to run")
    args = parser.parse_args()
    f = asyncio.run(run(args.repo.resolve()))
    print(f"command flood ({args.repo}): {FLOOD} /help from one user, one /next from another")
    print(
        f"  replies in 10 s: {f['replies']:.0f} ({f['flooder_replies']:.0f} to the flooder); "
        f"peak {f['peak_per_second']:.0f} sends/s overall, {f['peak_flooder_chat']:.0f}/s to "
        f"the flooder's chat (Telegram: 30 and 1); the other user answered "
        f"{f['other_answered_after']:.1f} s after the first reply"
    )


if __name__ == "__main__":
    main()
