"""Files shipped inside the package (bot/data/): the registry seed, the gazetteer and the name
lists. They are found through importlib.resources, so an installed wheel reads its own copy
whatever folder it is run from, and a checkout reads the same files in place."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(name: str) -> Path:
    """The path of a file shipped in bot/data/."""
    resource = files("bot") / "data" / name
    # pip installs wheels unpacked, so the resource is a real file; a zipped install (zipapp,
    # egg) would hand back a zip member, which the readers here cannot open by path.
    if not isinstance(resource, Path):
        raise RuntimeError(f"coordbot must be installed unpacked to read its data file {name}")
    return resource


SEED_FILE = data_path("registry.toml")
PLACES_FILE = data_path("gazetteer_no.txt")
NAMES_FILE = data_path("names_no.txt")
