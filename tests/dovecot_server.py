"""A real IMAP server for tests: Dovecot (Debian's dovecot-imapd) on loopback with a throwaway
configuration, Maildir mail location and a passwd-file user.

Dovecot refuses mail access as uid 0 and runs its unprivileged parts as a named user, so as
root the mail, the login processes and the internal processes all run as the `dovecot` user
the package creates; as anyone else they run as that user (Dovecot then needs no privileges).

    with DovecotServer() as imap:
        imap.append(raw_bytes)             # a message into INBOX
        imap.folder_messages("coordbot-handled")
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

USER = "coordbot"
PASSWORD = "test-password"


class DovecotUnavailable(RuntimeError):
    """No dovecot binary on this machine."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary() -> str:
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if not found:
        raise DovecotUnavailable("dovecot not found; install dovecot-imapd")
    return found


class DovecotServer:
    """Starts `dovecot -F` with its own config in a temporary directory; stops it on exit."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user = USER
        self.password = PASSWORD
        self._dir = Path(tempfile.mkdtemp(prefix="coordbot-dovecot-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.config_path = self._dir / "dovecot.conf"

    def _write_config(self) -> None:
        account = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        uid, gid, name = account.pw_uid, account.pw_gid, account.pw_name
        for sub in ("run", "state", "mail", "home"):
            (self._dir / sub).mkdir()
        (self._dir / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.config_path.write_text(
            f"""
base_dir = {self._dir}/run
state_dir = {self._dir}/state
instance_name = coordbot-test-{self.port}
log_path = {self._dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {name}
default_internal_group = {_group(gid)}
default_login_user = {name}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = 0
mail_location = maildir:{self._dir}/mail/%u
mail_privileged_group =
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self._dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self._dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        if os.geteuid() == 0:
            for path in [self._dir, *self._dir.rglob("*")]:
                os.chown(path, uid, gid)

    def start(self) -> DovecotServer:
        """Start the server and wait until it accepts IMAP logins."""
        binary = _binary()
        self._write_config()
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own process group, so `crash` can take the IMAP processes down with it.
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"dovecot exited: {err}{self.log()}")
            try:
                with self.connect():
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def crash(self) -> None:
        """Kill the server and every process it started (open IMAP sessions drop)."""
        if self._process is not None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None

    def restart(self) -> DovecotServer:
        """Start again on the same port, configuration and mail (after `crash`)."""
        self._process = subprocess.Popen(
            [_binary(), "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with self.connect():
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not restart: {self.log()}") from None
                time.sleep(0.05)

    def log(self) -> str:
        """The server's log so far."""
        path = self._dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- a client for the tests ---------------------------------------------------------

    def connect(self) -> _Client:
        """A logged-in imaplib client (a context manager that logs out)."""
        client = _Client(self.host, self.port)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put one message into `folder` (created when missing)."""
        with self.connect() as client:
            client.create(folder)
            status, detail = client.append(folder, None, None, raw)
            assert status == "OK", detail

    def folder_messages(self, folder: str) -> list[bytes]:
        """The raw messages in `folder` (empty when the folder does not exist)."""
        with self.connect() as client:
            status, _ = client.select(folder, readonly=True)
            if status != "OK":
                return []
            _status, data = client.uid("SEARCH", "ALL")
            out: list[bytes] = []
            for uid in (data[0] or b"").split():
                _s, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
                for part in fetched:
                    if isinstance(part, tuple):
                        out.append(part[1])
            return out


def _group(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


class _Client(imaplib.IMAP4):
    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.logout()
