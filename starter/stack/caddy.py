"""Caddy (Debian ``caddy``) as the CDN edge nodes and as the demo origin web server.

An edge starts with an empty site list: one HTTP server ``edge`` listening on its HTTPS port
(TLS, certificates chosen by SNI from ``apps.tls.certificates.load_pem``) and on its plain HTTP
port (Caddy applies no TLS on the app's ``http_port``), only a 404 fallback route (sites go
before it), and automatic HTTPS off, so
it never talks to a CA itself. Sites and certificates arrive later through the admin API
(``activities/edge.py``), incrementally. ``config.persist`` is off: the edge configuration's
source of truth is the database, and `make up` loads it back onto edges that start empty
(``starter.stack.site_components.EdgeSyncComponent``).

The demo origin is a Caddy that answers every request with a page naming the host asked for,
standing in for the customers' own web servers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx

from starter.stack.process import ManagedProcess, port_open, wait_until

START_TIMEOUT = 20.0
SERVER = "edge"  # the name of the edge's HTTP server in Caddy's config
# The last route of every edge: a host no site matched gets a 404 that says so.
FALLBACK_ROUTE = {"@id": "edge-fallback", "handle": [{
    "handler": "static_response", "status_code": 404,
    "body": "This site is not served by this Edgeward edge.\n"}]}


def caddy_binary() -> str:
    path = shutil.which("caddy") or "/usr/bin/caddy"
    if not Path(path).exists():
        raise FileNotFoundError("caddy is missing; run `make install` (Debian caddy)")
    return path


class CaddyProcess:
    """One ``caddy run`` in ``folder`` with its own HOME and data folders, admin on loopback."""

    def __init__(self, name: str, folder: Path, admin_port: int) -> None:
        self.name = name
        self.admin_port = admin_port
        self.process = ManagedProcess(name, folder)

    @property
    def folder(self) -> Path:
        return self.process.folder

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def listen_ports(self) -> list[int]:
        raise NotImplementedError

    def _ready(self) -> bool:
        if not port_open(self.admin_port) or not all(port_open(p) for p in self.listen_ports()):
            return False
        try:
            return httpx.get(f"{self.admin_url}/config/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        if self.process.running_pid() is not None and self._ready():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "caddy.json"
        path.write_text(json.dumps(self.config(), indent=2))
        d = self.folder
        env = {"HOME": str(d), "XDG_DATA_HOME": str(d / "data"), "XDG_CONFIG_HOME": str(d / "config")}
        proc = self.process.spawn([caddy_binary(), "run", "--config", str(path)], env=env)
        wait_until(self._ready, START_TIMEOUT, self.name, self.process.log_file, proc)

    def stop(self) -> bool:
        return self.process.stop()

    def kill(self) -> None:
        self.process.kill()


class CaddyEdge(CaddyProcess):
    """One edge node: HTTPS on ``https_port``, plain HTTP on ``http_port``, admin API."""

    def __init__(self, name: str, folder: Path, admin_port: int, https_port: int,
                 http_port: int) -> None:
        super().__init__(name, folder, admin_port)
        self.https_port, self.http_port = https_port, http_port

    def listen_ports(self) -> list[int]:
        return [self.https_port, self.http_port]

    def config(self) -> dict[str, Any]:
        return {
            "admin": {"listen": f"127.0.0.1:{self.admin_port}", "config": {"persist": False}},
            "logging": {"logs": {"default": {"level": "WARN"}}},
            "apps": {
                "http": {
                    "http_port": self.http_port, "https_port": self.https_port,
                    "servers": {SERVER: {
                        "listen": [f"127.0.0.1:{self.https_port}", f"127.0.0.1:{self.http_port}"],
                        "automatic_https": {"disable": True},
                        "tls_connection_policies": [{}],
                        "protocols": ["h1", "h2"],
                        "routes": [FALLBACK_ROUTE],
                    }},
                },
                "tls": {"certificates": {"load_pem": []}},
            },
        }


class DemoOrigin(CaddyProcess):
    """The demo sites' web server: plain HTTP on ``port``, a page naming the requested host."""

    BODY = ("<!doctype html><title>{http.request.host}</title>"
            "<h1>Welcome to {http.request.host}</h1>"
            "<p>Served by the Edgeward demo origin.</p>\n")

    def __init__(self, folder: Path, port: int, admin_port: int) -> None:
        super().__init__("demo-origin", folder, admin_port)
        self.port = port

    def listen_ports(self) -> list[int]:
        return [self.port]

    def config(self) -> dict[str, Any]:
        return {
            "admin": {"listen": f"127.0.0.1:{self.admin_port}", "config": {"persist": False}},
            "logging": {"logs": {"default": {"level": "WARN"}}},
            "apps": {"http": {"http_port": self.port, "servers": {"origin": {
                "listen": [f"127.0.0.1:{self.port}"],
                "automatic_https": {"disable": True},
                "routes": [{"handle": [
                    {"handler": "headers", "response": {"set": {
                        "Content-Type": ["text/html; charset=utf-8"],
                        "X-Demo-Origin": ["{http.request.host}"]}}},
                    {"handler": "static_response", "status_code": 200, "body": self.BODY},
                ]}],
            }}}},
        }
