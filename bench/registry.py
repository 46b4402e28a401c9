"""Registry benchmark: imports, reads and chat edits at 1k, 10k and 100k contacts, beside plain
SQL doing the same work on the same SQLite file in the same run.

For each size a fresh process (so no size warms another's caches):
1. import: `Registry.replace` of a synthetic registry (bench/synthetic.py); baseline: the
   standard library's sqlite3 inserting the same people and roles with executemany;
2. read: a cold snapshot (`Registry.snapshot` after `invalidate`); baseline: sqlite3 fetching
   every row of the registry tables;
3. edit: `apply_edit` of an e-mail address and of a role (what `/email` and a role change do
   in chat), median and worst of several; baseline: one UPDATE of one row and its commit.

    python bench/registry.py [--sizes 1000,10000,100000] [--edits 20] [--before PATH]

`--before PATH` runs another checkout's code (e.g. `git worktree add /tmp/before <commit>`)
through the same driver, so the figures before a change come from the same script and run.
Target: one edit at 100k <= 50 ms. The /healthz stall during edits is bench/stall.py's
(`--contacts 100000`).
"""

# ruff: noqa: E402  (the path fix below must run before the imports after it)
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import json
import os
import subprocess
import tempfile

WORKER = r"""
import json, sqlite3, statistics, sys, time
from dataclasses import replace
from pathlib import Path
from datetime import datetime
from zoneinfo import ZoneInfo

size, edits, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
from bench.synthetic import synthetic_registry
from bot.clock import FixedClock
from bot.config import load_config
from bot.registry.data import load_registry_file
from bot.registry.edits.apply import apply_edit
from bot.registry.edits.audit import Actor
from bot.registry.edits.changes import EmailEdit, RoleEdit
from bot.services import build_services

seed = load_registry_file(Path("data/registry.toml") if Path("data/registry.toml").exists()
                          else Path("bot/data/registry.toml"))
data = synthetic_registry(seed, size)
database = folder / "registry.sqlite3"
env = {"COORDBOT_BOT_DATABASE_URL": f"sqlite:///{database}"}
clock = FixedClock(datetime(2020, 1, 15, 9, 0, tzinfo=ZoneInfo("Europe/Oslo")))
services = build_services(load_config(env=env), clock)
out = {"people": len(data.people)}

start = time.perf_counter()
services.registry.replace(data)
out["import_s"] = time.perf_counter() - start

services.registry.invalidate()
start = time.perf_counter()
services.registry.snapshot()
out["read_s"] = time.perf_counter() - start

actor = Actor("console", "Bench")
people = [p for p in data.people if p.roles and p.roles[0].municipality][-edits:]
email_times, role_times = [], []
for i, person in enumerate(people):
    start = time.perf_counter()
    apply_edit(services, EmailEdit(person.key, f"bench{i}@{person.email.split('@')[1]}"), actor)
    email_times.append(time.perf_counter() - start)
    place = person.roles[0].municipality
    start = time.perf_counter()
    apply_edit(services, RoleEdit(person.key, "data_contact", place), actor)
    role_times.append(time.perf_counter() - start)
out["email_ms"] = [t * 1e3 for t in email_times]
out["role_ms"] = [t * 1e3 for t in role_times]
services.close()

# Plain SQL on the same file: the floor each operation is measured against.
con = sqlite3.connect(database)
rows = con.execute("SELECT key, name, email, phone, language FROM person").fetchall()
roles = con.execute(
    "SELECT person_id, role_key, municipality_id, organisation_id, title, source FROM role"
).fetchall()
start = time.perf_counter()
for table in ("municipality", "organisation", "role_type", "person", "role", "audience",
              "audience_member", "event", "event_audience"):
    con.execute(f"SELECT * FROM {table}").fetchall()
out["sql_read_s"] = time.perf_counter() - start
con.execute("CREATE TABLE p2 AS SELECT * FROM person WHERE 0")
con.execute("CREATE TABLE r2 AS SELECT * FROM role WHERE 0")
start = time.perf_counter()
con.executemany("INSERT INTO p2 (key, name, email, phone, language) VALUES (?,?,?,?,?)", rows)
con.executemany("INSERT INTO r2 (person_id, role_key, municipality_id, organisation_id, title, "
                "source) VALUES (?,?,?,?,?,?)", roles)
con.commit()
out["sql_import_s"] = time.perf_counter() - start
sql_edits = []
for i in range(edits):
    start = time.perf_counter()
    con.execute("UPDATE person SET email = ? WHERE key = ?", (f"x{i}@example.org", rows[i][0]))
    con.commit()
    sql_edits.append((time.perf_counter() - start) * 1e3)
out["sql_edit_ms"] = sql_edits
print(json.dumps(out))
"""


def measure(repo: Path, size: int, edits: int) -> dict[str, object]:
    """Run the worker for one size in a fresh process on `repo`'s code."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COORDBOT_")}
        env["PYTHONPATH"] = f"{repo}{os.pathsep}{ROOT}"
        env["XDG_DATA_HOME"] = tmp
        result = subprocess.run(
            [sys.executable, "-c", WORKER, str(size), str(edits), tmp],
            cwd=repo, env=env, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        if result.returncode:
            raise SystemExit(f"worker failed on {repo} at {size}:\n{result.stderr[-3000:]}")
        figures: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
        return figures


def median(values: object) -> float:
    """The median of a list of numbers."""
    ordered = sorted(values)  # type: ignore[call-overload]
    return float(ordered[len(ordered) // 2])


def report(label: str, size: int, f: dict[str, object]) -> None:
    """Print one size's figures and their ratios to plain SQL."""
    email, role, sql = f["email_ms"], f["role_ms"], f["sql_edit_ms"]
    print(f"{label} {size:>7,} people:")
    print(
        f"  import {f['import_s']:.2f} s (sqlite3 executemany {f['sql_import_s']:.2f} s, "
        f"{f['import_s'] / f['sql_import_s']:.0f}x); "  # type: ignore[operator]
        f"cold read {f['read_s'] * 1e3:.0f} ms (sqlite3 fetchall "  # type: ignore[operator]
        f"{f['sql_read_s'] * 1e3:.0f} ms, "  # type: ignore[operator]
        f"{f['read_s'] / f['sql_read_s']:.1f}x)"  # type: ignore[operator]
    )
    print(
        f"  edit: e-mail median {median(email):.1f} ms, worst {max(email):.1f} ms; "  # type: ignore[call-overload]
        f"role median {median(role):.1f} ms, worst {max(role):.1f} ms "  # type: ignore[call-overload]
        f"(one sqlite3 UPDATE + commit: median {median(sql):.2f} ms); target <= 50 ms"
    )


def main() -> None:
    """Print the figures for each size, for this checkout and optionally another."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--edits", type=int, default=20, help="edits of each kind per size")
    parser.add_argument("--before", type=Path, help="another checkout to measure the same way")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        if args.before:
            before_edits = max(2, args.edits // 10) if size >= 100_000 else args.edits
            report("before", size, measure(args.before.resolve(), size, before_edits))
        report("now   ", size, measure(ROOT, size, args.edits))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
