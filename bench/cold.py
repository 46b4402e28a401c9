"""Cold start of `coordbot ask` (process start to answer) on the seed database and on a database
holding a 10,000-contact registry: median of several runs, and what the time goes to (-X
importtime of the largest packages; in-process phases). Run `python bench/cold.py`.

(Moved here unchanged from bench/answer.py, which now measures the engine alone.)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root replaces this script's folder on the path, so other scripts here (such as
# bench/calendar.py) never shadow standard-library modules of the same name.
sys.path[0] = str(ROOT)

from bench.legacy_mix import NOW, synthetic_registry  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.registry.data import RegistryData, load_registry_file  # noqa: E402

# --- cold start ------------------------------------------------------------------------------


def coordbot_script() -> str:
    script = Path(sys.executable).parent / "coordbot"
    return str(script) if script.exists() else ""


def run_ask(env: dict[str, str], question: str) -> tuple[float, str]:
    """Seconds from process start to exit for one `coordbot ask`, and what it printed."""
    script = coordbot_script()
    command = [script] if script else [sys.executable, "-m", "bot"]
    start = time.perf_counter()
    result = subprocess.run(
        [*command, "ask", question], capture_output=True, text=True, env=env, check=True,
        timeout=300,
    )  # fmt: skip
    return time.perf_counter() - start, result.stdout + result.stderr


def cold_start(env: dict[str, str], runs: int) -> list[float]:
    """Seconds per `coordbot ask` process, over `runs` runs."""
    return [run_ask(env, "who is Bodø's data contact?")[0] for _ in range(runs)]


def import_breakdown(env: dict[str, str]) -> list[tuple[str, float]]:
    """The largest top-level packages `coordbot ask` imports, by cumulative import ms."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "ask", "who is Bodø's data contact?"],
        capture_output=True, text=True, env=env, check=True, timeout=300,
    )  # fmt: skip
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and "." not in match[3]:
            name = match[3]
            totals[name] = max(totals.get(name, 0.0), int(match[1]) / 1000)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:8]


PHASES = """
import time, sys
t0 = time.perf_counter()
from bot.cli.support import open_services
import argparse
t1 = time.perf_counter()
with open_services(argparse.Namespace(config=None), now="2020-01-15T09:00") as services:
    t2 = time.perf_counter()
    services.registry.snapshot()
    t3 = time.perf_counter()
    services.answers.index()
    t4 = time.perf_counter()
    services.answers.ask("who is Bodø's data contact?")
    t5 = time.perf_counter()
print(f"{(t1-t0)*1e3:.0f} {(t2-t1)*1e3:.0f} {(t3-t2)*1e3:.0f} {(t4-t3)*1e3:.0f} {(t5-t4)*1e3:.1f}")
"""


def phases(env: dict[str, str]) -> list[float]:
    result = subprocess.run(
        [sys.executable, "-c", PHASES], capture_output=True, text=True, env=env, check=True,
        cwd=ROOT, timeout=300,
    )  # fmt: skip
    return [float(x) for x in result.stdout.split()]


def write_registry(env: dict[str, str], data: RegistryData) -> float:
    """Store a registry in the database `env` points at; seconds taken."""
    from bot.config import load_config
    from bot.services import build_services

    start = time.perf_counter()
    services = build_services(load_config(env=env), FixedClock(NOW))
    try:
        services.registry.replace(data)
    finally:
        services.close()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--cold-runs-big", type=int, default=2, help="runs at 10,000 contacts")
    args = parser.parse_args()

    seed = load_registry_file(ROOT / "data" / "registry.toml")
    data = synthetic_registry(seed)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COORDBOT_")}
        env["COORDBOT_BOT_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'seed.sqlite3'}"
        env["PYTHONPATH"] = str(ROOT)
        seconds, answer = run_ask(env, "who is Bodø's data contact?")
        print(f"\ncold start, first run (creates and seeds the database): {seconds * 1e3:.0f} ms")
        runs = cold_start(env, args.cold_runs)
        print(f"cold start `coordbot ask`, seed registry: median {statistics.median(runs) * 1e3:.0f}"
              f" ms over {len(runs)} runs; answer: {answer.strip()[:70]}")  # fmt: skip
        start = time.perf_counter()
        for _ in range(3):
            subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        print(f"  bare interpreter start: {(time.perf_counter() - start) / 3 * 1e3:.0f} ms")
        names = ("import", "open services", "read snapshot", "build index", "answer")
        print(
            "  phases: "
            + ", ".join(f"{n} {v:g} ms" for n, v in zip(names, phases(env), strict=True))
        )
        print("  largest imports (cumulative ms): "
              + ", ".join(f"{name} {ms:.0f}" for name, ms in import_breakdown(env)))  # fmt: skip

        env["COORDBOT_BOT_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'big.sqlite3'}"
        print(f"\nwriting the 10,000-contact registry to SQLite: {write_registry(env, data):.1f} s")
        runs = cold_start(env, args.cold_runs_big)
        print(f"cold start `coordbot ask`, 10,000 contacts: median "
              f"{statistics.median(runs) * 1e3:.0f} ms over {len(runs)} runs")  # fmt: skip
        print(
            "  phases: "
            + ", ".join(f"{n} {v:g} ms" for n, v in zip(names, phases(env), strict=True))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
