"""Packaging: the wheel, installed into a clean venv, answers the Bodø question from another
folder with its own data files; every dependency is bounded by major version; the lock files
pin every dependency pyproject.toml names, with hashes, at versions its bounds allow.

The wheel test builds from a copy of the files a wheel is made of (never from the checkout,
whose setuptools build/ folder could hold stale modules), installs it with --no-deps into a venv
made without system site-packages, and lends that venv the already installed third-party
packages through a .pth line naming the test venv's site-packages. A path added so is only put on
sys.path: its own .pth files (the editable install's import hook for the checkout) are not run,
so `bot` can only come from the wheel, and the test checks that it did. It runs in the SQLite
pass only (it is not marked `db`), on a throwaway database of its own."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.config import load_config
from bot.resources import NAMES_FILE, PLACES_FILE, SEED_FILE

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# What a wheel is built from (pyproject.toml's packages and the files its metadata names).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "bot", "handlers", "schedules")
# Year-versioned time-zone data: no API to break, and a bound would freeze the rules.
UNBOUNDED_ON_PURPOSE = {"tzdata"}


def requirements(*extras: str) -> list[Requirement]:
    """pyproject.toml's dependencies plus those of the named extras."""
    project = PYPROJECT["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    for extra in extras:
        found += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return found


def locked(path: Path) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) of a pip-compile lock file."""
    pins: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=\S)", path.read_text(encoding="utf-8")):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            name, version = match.groups()
            pins[canonicalize_name(name)] = (Version(version), block.count("--hash=sha256:"))
    return pins


def test_every_dependency_is_bounded_by_major_version() -> None:
    extras = tuple(PYPROJECT["project"]["optional-dependencies"])
    unbounded = [
        str(req)
        for req in requirements(*extras)
        if canonicalize_name(req.name) not in UNBOUNDED_ON_PURPOSE
        and not any(spec.operator in ("<", "~=", "==") for spec in req.specifier)
    ]
    assert unbounded == []
    assert PYPROJECT["project"]["license"] == "EUPL-1.2"
    assert (
        (REPO / "LICENSE")
        .read_text(encoding="utf-8")
        .lstrip()
        .startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")
    )


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("requirements.lock", ("postgres", "dkim")),
        ("requirements-dev.lock", ("postgres", "dkim", "dev")),
    ],
)
def test_lock_pins_every_dependency_within_its_bounds(lock: str, extras: tuple[str, ...]) -> None:
    pins = locked(REPO / lock)
    problems = []
    for req in requirements(*extras):
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not in {lock} (run `make lock`)")
            continue
        version, hashes = pins[name]
        if version not in req.specifier:
            problems.append(f"{lock} pins {name}=={version}, outside {req} (run `make lock`)")
        if hashes == 0:
            problems.append(f"{lock}: {name} has no hash")
    assert problems == []
    assert all(hashes for _version, hashes in pins.values())


def test_production_and_development_locks_agree() -> None:
    production = locked(REPO / "requirements.lock")
    development = locked(REPO / "requirements-dev.lock")
    assert {n: v for n, (v, _h) in production.items()} == {
        n: development[n][0] for n in production if n in development
    }
    assert set(production) <= set(development)


def test_seed_file_is_the_packaged_one_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = importlib.resources.files("bot") / "data" / "registry.toml"
    assert load_config().data_file == packaged == SEED_FILE
    assert SEED_FILE.is_file() and PLACES_FILE.is_file() and NAMES_FILE.is_file()
    mine = tmp_path / "registry.toml"
    monkeypatch.setenv("COORDBOT_BOT_DATA_FILE", str(mine))
    assert load_config().data_file == mine


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{command[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_in_a_clean_venv_answers_from_another_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)])
    (wheel,) = wheels.glob("coordbot-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    (site / "_coordbot_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "COORDBOT_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'throwaway' / 'coordbot.sqlite3'}",
        "LANG": "C.UTF-8",
    }
    where = json.loads(
        _run(
            [
                str(python),
                "-c",
                "import json, bot, bot.resources as r; from bot.answering.gazetteer import "
                "load_names, load_places; print(json.dumps({'bot': bot.__file__, "
                "'seed': str(r.SEED_FILE), 'places': len(load_places()), "
                "'names': len(load_names().surnames)}))",
            ],
            cwd=elsewhere,
            env=env,
        ).stdout
    )
    # The installed package answers, with the data files it carries.
    assert Path(where["bot"]).is_relative_to(site)
    assert Path(where["seed"]).is_relative_to(site)
    assert where["places"] > 356 and where["names"] > 50

    answer = _run(
        [str(venv / "bin" / "coordbot"), "ask", "--json", "who is Bodø's data contact?"],
        cwd=elsewhere,
        env=env,
    )
    doc = json.loads(answer.stdout)
    assert doc["status"] == "answer"
    assert [(c["name"], c["email"], c["municipality"]) for c in doc["contacts"]] == [
        ("Vesa Heikki Jäntti", "vesa.heikki.jantti@bodo.kommune.no", "Bodø")
    ]
    assert (tmp_path / "throwaway" / "coordbot.sqlite3").is_file()
    assert os.listdir(elsewhere) == []
