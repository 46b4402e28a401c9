"""This checkout's answer engine against another checkout's (an earlier commit), side by side in
one run, on the same registry and the same questions: the first mix of bench/answer.py
(bench/legacy_mix.py) at 10,000 contacts.

    git worktree add ../prev 76dea93
    python bench/versus.py --other ../prev

Each engine runs in its own process (both are the package `bot`); the two alternate, round by
round, so both see the same load on a shared machine. Per question the fastest of all rounds
counts (what the code costs, without the scheduling noise); the single-round p50/p99 are
printed too. Both build the registry from this checkout's data/registry.toml.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from bench.legacy_mix import question_mix, synthetic_registry  # noqa: E402
from bot.registry.data import load_registry_file  # noqa: E402
from bot.resources import SEED_FILE  # noqa: E402

# Runs inside the checkout under test: its own `bot` package and its own legacy registry code.
WORKER = r"""
import json, sys, time
from datetime import datetime
from zoneinfo import ZoneInfo
root, seed_path, questions_path, passes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, root)
try:
    from bot.registry.data import load_registry_file
except ImportError:
    from bot.registry_data import load_registry_file
from bot.answering.engine import AnswerEngine
from bot.clock import FixedClock
sys.path.insert(0, sys.argv[5])
from bench_legacy import synthetic_registry
questions = json.load(open(questions_path))
data = synthetic_registry(load_registry_file(seed_path))
engine = AnswerEngine.for_data(data, FixedClock(datetime(2020, 1, 15, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))))
engine.index()
for q in questions[:200]:
    engine.ask(q)
rounds = []
for _ in range(passes):
    times = []
    for q in questions:
        start = time.perf_counter()
        engine.ask(q)
        times.append((time.perf_counter() - start) * 1000)
    rounds.append(times)
json.dump(rounds, sys.stdout)
"""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def legacy_module(root: Path, tmp: Path) -> Path:
    """A copy of bench/legacy_mix.py importable in either checkout (registry records from
    `bot.registry.data` or, in older ones, `bot.registry_data`)."""
    text = (ROOT / "bench" / "legacy_mix.py").read_text(encoding="utf-8")
    text = text.replace(
        "from bot.registry.data import",
        "try:\n    from bot.registry.data import MunicipalityRec, PersonRec, RegistryData, RoleRec, "
        "RoleTypeRec\nexcept ImportError:\n    from bot.registry_data import",
    )
    folder = tmp / root.name
    folder.mkdir()
    (folder / "bench_legacy.py").write_text(text, encoding="utf-8")
    return folder


def run(root: Path, questions: Path, passes: int, tmp: Path) -> list[list[float]]:
    """Per-question milliseconds of `passes` passes of one checkout's engine."""
    helper = legacy_module(root, tmp) if not (tmp / root.name).exists() else tmp / root.name
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(root), str(SEED_FILE),
         str(questions), str(passes), str(helper)],
        capture_output=True, text=True, check=True, cwd=root, timeout=900,
    )  # fmt: skip
    rounds: list[list[float]] = json.loads(result.stdout)
    return rounds


def main() -> int:
    """Print both engines' p50/p99 and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, help="the other checkout's root")
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per engine")
    parser.add_argument("--passes", type=int, default=2, help="passes per round")
    args = parser.parse_args()
    if args.other is None:
        # `make bench` runs every script here: without a checkout to compare, say so and pass.
        print("bench/versus.py: give --other PATH (a checkout of an earlier commit) to compare")
        return 0
    data = synthetic_registry(load_registry_file(SEED_FILE))
    questions = question_mix(data, args.questions)
    roots = {"this": ROOT, "other": args.other.resolve()}
    times: dict[str, list[list[float]]] = {name: [] for name in roots}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "questions.json"
        path.write_text(json.dumps(questions), encoding="utf-8")
        for _ in range(args.rounds):
            for name in ("other", "this"):
                times[name] += run(roots[name], path, args.passes, tmp)
    print(f"{len(data.people)} people; {len(questions)} questions of the first mix; "
          f"{args.rounds} alternating rounds of {args.passes} passes each")  # fmt: skip
    summary: dict[str, tuple[float, float]] = {}
    for name, root in (("other", roots["other"]), ("this", roots["this"])):
        fastest = [min(per_q) for per_q in zip(*times[name], strict=True)]
        p50, p99 = percentile(fastest, 0.5), percentile(fastest, 0.99)
        single50 = sorted(percentile(r, 0.5) for r in times[name])
        single99 = sorted(percentile(r, 0.99) for r in times[name])
        summary[name] = (p50, p99)
        print(f"{name:5} ({root.name}): fastest per question p50 {p50:.3f} ms, p99 {p99:.3f} ms;"
              f" single passes p50 {single50[0]:.3f}-{single50[-1]:.3f} ms, p99 "
              f"{single99[0]:.3f}-{single99[-1]:.3f} ms")  # fmt: skip
    ratio50 = summary["this"][0] / summary["other"][0]
    ratio99 = summary["this"][1] / summary["other"][1]
    print(f"this / other: p50 {ratio50:.2f}, p99 {ratio99:.2f} (<= 1.00: not slower)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
