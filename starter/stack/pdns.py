"""One PowerDNS Authoritative instance (Debian ``pdns-server`` + ``pdns-backend-sqlite3``).

The project runs three of them, each in its own folder with its own ports (STACK.md):

- ``hosted``: our hosted DNS, the zones we serve for customers and the ACME validation zone;
- ``parent``: a stand-in for the parent zone (``test.``) that delegates each customer domain;
- ``oldhost``: a stand-in for the customers' current DNS host.

The API key is written to ``pdns.conf`` only as a salted scrypt hash (PowerDNS >= 4.6 accepts
it), so the plain key lives in the settings and in memory only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import sqlite3
from pathlib import Path

import httpx

from starter.stack.process import ManagedProcess, port_open, wait_until

SCHEMA = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
START_TIMEOUT = 30.0


def hash_api_key(key: str) -> str:
    """The ``$scrypt$`` form of ``pdnsutil hash-password`` (N=2^10, r=8, p=1, 32 bytes)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode(), salt=salt, n=1 << 10, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"$scrypt$ln=10,p=1,r=8${b64(salt).decode()}${b64(digest).decode()}"


def pdns_binary() -> str:
    path = shutil.which("pdns_server") or "/usr/sbin/pdns_server"
    if not Path(path).exists():
        raise FileNotFoundError("pdns_server is missing; run `make install` (Debian pdns-server)")
    return path


class PowerDnsServer:
    """``pdns_server`` with the gsqlite3 backend, DNS on ``dns_port``, HTTP API on ``api_port``.

    ``allow_axfr`` is the server-wide AXFR rule: False refuses zone transfers unless a zone's
    ``ALLOW-AXFR-FROM`` metadata allows them (the old host uses that to refuse per zone).
    """

    def __init__(self, name: str, folder: Path, dns_port: int, api_port: int, api_key: str,
                 allow_axfr: bool = True) -> None:
        self.name = name
        self.dns_port, self.api_port, self.api_key = dns_port, api_port, api_key
        self.allow_axfr = allow_axfr
        self.process = ManagedProcess(f"pdns-{name}", folder)

    @property
    def folder(self) -> Path:
        return self.process.folder

    @property
    def address(self) -> tuple[str, int]:
        """Where its DNS answers: ``("127.0.0.1", dns_port)``."""
        return ("127.0.0.1", self.dns_port)

    @property
    def api_url(self) -> str:
        """The API base for server ``localhost``; send ``X-API-Key``."""
        return f"http://127.0.0.1:{self.api_port}/api/v1/servers/localhost"

    def _config(self) -> str:
        lines = {
            "launch": "gsqlite3",
            "gsqlite3-database": str(self.folder / "pdns.sqlite3"),
            "gsqlite3-pragma-journal-mode": "WAL",
            "local-address": "127.0.0.1",
            "local-port": str(self.dns_port),
            "socket-dir": str(self.folder),
            "daemon": "no",
            "guardian": "no",
            "api": "yes",
            "api-key": hash_api_key(self.api_key),
            "webserver": "yes",
            "webserver-address": "127.0.0.1",
            "webserver-port": str(self.api_port),
            "webserver-allow-from": "127.0.0.1/32",
            "disable-axfr": "no",
            "allow-axfr-ips": "127.0.0.1/32" if self.allow_axfr else "",
            "security-poll-suffix": "",
            "loglevel": "4",
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start (or keep) the server; the data survives restarts in ``pdns.sqlite3``."""
        if self.process.running_pid() is not None and port_open(self.api_port):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        db = self.folder / "pdns.sqlite3"
        if not db.exists():
            con = sqlite3.connect(db)
            try:
                con.executescript(SCHEMA.read_text())
            finally:
                con.close()
        conf = self.folder / "pdns.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self._config())
        proc = self.process.spawn([pdns_binary(), f"--config-dir={self.folder}"])
        wait_until(self._ready, timeout, f"PowerDNS ({self.name})", self.process.log_file, proc)

    def _ready(self) -> bool:
        if not (port_open(self.dns_port) and port_open(self.api_port)):
            return False
        try:
            r = httpx.get(self.api_url, headers={"X-API-Key": self.api_key}, timeout=1.0)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def stop(self) -> bool:
        return self.process.stop()
