"""Cold start of `coordbot ask`: process start to printed answer, on the seed registry and on a
100,000-contact one, beside a bare `python -c pass` measured in the same run.

Each figure is the median of several runs, in wall time and in CPU time (user + system, from
the children's resource usage): on a shared machine the wall time carries the other
processes' load, the CPU time much less. The first ask on a database builds the answer index
(and, from this change on, keeps it beside the database); the figures are for the asks after
it, as a user typing questions one after another gets them.

    python bench/cold_ask.py [--runs 7] [--contacts 100000] [--before PATH]

`--before PATH` measures another checkout (e.g. `git worktree add /tmp/before <commit>`) the
same way in the same run. Targets: seed <= 5x `python -c pass`; 100k <= 4x the seed's.
"""

# ruff: noqa: E402  (the path fix below must run before the imports after it)
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time

from bench.synthetic import FILL_SCRIPT

QUESTION = "who is Bodø's data contact?"


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and output of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=True, timeout=600
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def environment(repo: Path, database: Path, tmp: str) -> dict[str, str]:
    """The environment of one checkout's processes: its code, a database of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COORDBOT_")}
    # Byte-code cached as on an installed system (pip compiles a wheel's modules); an
    # environment that forbids writing it would have every cold start compile the sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "PYTHONPATH": f"{repo}{os.pathsep}{ROOT}",
            "XDG_DATA_HOME": tmp,
            "COORDBOT_BOT_DATABASE_URL": f"sqlite:///{database}",
            "COORDBOT_BOT_NOW": "2020-01-15T09:00",
        }
    )
    return env


def measure(repo: Path, contacts: int, runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) of `python -c pass` and of a cold ask on the seed and on `contacts`."""
    ask = [sys.executable, "-m", "bot", "ask", QUESTION]
    out: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        seed_env = environment(repo, Path(tmp) / "seed.sqlite3", tmp)
        big_env = environment(repo, Path(tmp) / "big.sqlite3", tmp)
        timed(ask, seed_env, repo)  # creates and seeds the database, builds the index
        timed([sys.executable, "-c", FILL_SCRIPT, str(contacts)], big_env, repo)
        first = timed(ask, big_env, repo)
        out["first ask, big"] = (first[0], first[1])
        samples: dict[str, list[tuple[float, float]]] = {"pass": [], "seed": [], "big": []}
        for _ in range(runs):  # interleaved, so load changes hit every kind alike
            samples["pass"].append(timed([sys.executable, "-c", "pass"], seed_env, repo)[:2])
            samples["seed"].append(timed(ask, seed_env, repo)[:2])
            samples["big"].append(timed(ask, big_env, repo)[:2])
        for name, values in samples.items():
            out[name] = (
                statistics.median(v[0] for v in values),
                statistics.median(v[1] for v in values),
            )
    return out


def report(label: str, contacts: int, f: dict[str, tuple[float, float]]) -> None:
    """Print one checkout's figures and ratios."""
    bare, seed, big = f["pass"], f["seed"], f["big"]
    print(f"{label}:")
    print(f"  python -c pass        wall {bare[0] * 1e3:6.0f} ms, cpu {bare[1] * 1e3:6.0f} ms")
    print(
        f"  cold ask, seed        wall {seed[0] * 1e3:6.0f} ms, cpu {seed[1] * 1e3:6.0f} ms"
        f"  -> {seed[0] / bare[0]:.1f}x / {seed[1] / bare[1]:.1f}x python -c pass (target <= 5x)"
    )
    print(
        f"  cold ask, {contacts:,}   wall {big[0] * 1e3:6.0f} ms, cpu {big[1] * 1e3:6.0f} ms"
        f"  -> {big[0] / seed[0]:.1f}x / {big[1] / seed[1]:.1f}x the seed's (target <= 4x)"
    )
    first = f["first ask, big"]
    print(f"  first ask at {contacts:,} (builds the index): wall {first[0]:.1f} s")


def main() -> None:
    """Measure this checkout, and another one if asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--before", type=Path, help="another checkout to measure the same way")
    args = parser.parse_args()
    if args.before:
        report(f"before ({args.before})", args.contacts, measure(args.before, args.contacts, 3))
    report("now", args.contacts, measure(ROOT, args.contacts, args.runs))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
