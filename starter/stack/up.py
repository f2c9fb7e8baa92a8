"""`make up` / `make down`: start and stop the whole local stack on loopback.

Components start in order (servers first, then the database, then the worker and the app) and
stop in reverse. Each component is an object with ``name``, ``start()``, ``stop()`` and
``describe()`` (lines to print once it is up).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from schema import migrate
from schema.settings import ROOT, Settings
from starter.stack.process import ManagedProcess, wait_until
from starter.stack.temporal import TemporalDevServer


class Component(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> bool: ...

    def describe(self) -> list[str]: ...


class TemporalComponent:
    name = "temporal"

    def __init__(self, settings: Settings) -> None:
        self.server = TemporalDevServer(
            settings.run_dir / "temporal", int(settings.temporal_address.rsplit(":", 1)[1]),
            settings.temporal_ui_port, settings.temporal_http_port, settings.temporal_metrics_port,
            codec_endpoint=f"http://{settings.portal_host}:{settings.portal_port}/api/v1/codec")

    def start(self) -> None:
        self.server.start()

    def stop(self) -> bool:
        return self.server.stop()

    def describe(self) -> list[str]:
        return [f"Temporal:      {self.server.address}", f"Temporal UI:   {self.server.ui_url}"]


class DatabaseComponent:
    """Migrates the configured database and (re)seeds the demo partner."""

    name = "database"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lines: list[str] = []

    def start(self) -> None:
        from starter.seed import seed_demo

        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(self.settings.resolved_database_url)
        r = seed_demo(self.settings.resolved_database_url)
        self.lines = [f"Database:      {self.settings.resolved_database_url}",
                      f"Demo login:    {r.login_email} / {r.password}",
                      f"Demo API key:  {r.api_key}"]

    def stop(self) -> bool:
        return False

    def describe(self) -> list[str]:
        return self.lines


class WorkerComponent:
    """``python worker.py`` as a background process; ready once it logs that it polls."""

    name = "worker"

    def __init__(self, settings: Settings) -> None:
        self.process = ManagedProcess("worker", settings.run_dir / "worker")

    def start(self) -> None:
        if self.process.running_pid() is not None:
            self.process.stop()
        self.process.log_file.unlink(missing_ok=True)
        proc = self.process.spawn([sys.executable, str(ROOT / "worker.py")], cwd=ROOT)
        wait_until(lambda: "worker polling" in _read(self.process.log_file), 60,
                   "the worker", self.process.log_file, proc)

    def stop(self) -> bool:
        return self.process.stop()

    def describe(self) -> list[str]:
        return [f"Worker log:    {self.process.log_file}"]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def components(settings: Settings) -> list[Component]:
    from starter.stack.dns_world import dns_components
    from starter.stack.portal import PortalComponent
    from starter.stack.site_components import EdgeSyncComponent, site_components

    return [TemporalComponent(settings), *dns_components(settings), *site_components(settings),
            DatabaseComponent(settings), EdgeSyncComponent(settings), WorkerComponent(settings),
            PortalComponent(settings)]


def up(settings: Settings) -> list[str]:
    lines: list[str] = []
    for comp in components(settings):
        print(f"starting {comp.name} ...", flush=True)
        comp.start()
        lines += comp.describe()
    return lines


def down(settings: Settings) -> list[str]:
    stopped = []
    for comp in reversed(components(settings)):
        if comp.stop():
            stopped.append(comp.name)
    return stopped
