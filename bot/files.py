"""File permissions: the SQLite database (personal data, the unsubscribe signing key), keys
and exports are readable by their owner only; a config file holding secrets that others can
read gets a warning."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

PRIVATE = 0o600
_SECRET_KEYS = ("password", "token", "secret", "feed_token", "unsubscribe_secret")


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist; tighten it if it does."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE)
    except FileExistsError:
        make_private(path)
    else:
        os.close(fd)


def make_private(path: Path) -> None:
    """chmod 0600 when the file is ours and others can read it (otherwise leave it alone)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.getuid() and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        os.chmod(path, PRIVATE)


def secure_sqlite_files(database: Path) -> None:
    """The database file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
    database's mode), and any journal left by an older version tightened too."""
    create_private(database)
    for suffix in ("-wal", "-shm", "-journal"):
        make_private(database.with_name(database.name + suffix))


def config_file_warning(path: str | Path) -> str | None:
    """A warning when the config file sets a secret and group or others may read it."""
    try:
        info = Path(path).stat()
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if not info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    found = sorted(
        f"{section}.{key}"
        for section, values in data.items()
        if isinstance(values, dict)
        for key, value in values.items()
        if key in _SECRET_KEYS and value
    )
    if not found:
        return None
    mode = stat.S_IMODE(info.st_mode)
    return (
        f"config file {path} holds {', '.join(found)} but is readable by others "
        f"(mode {mode:04o}); run `chmod 600 {path}` or move the secrets to COORDBOT_* variables"
    )
