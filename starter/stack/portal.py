"""The portal component of ``make up``: ``python -m starter.serve`` (uvicorn, loopback) as a
background process; ready once its port answers."""

from __future__ import annotations

import sys

from schema.settings import ROOT, Settings
from starter.stack.process import ManagedProcess, port_open, wait_until


class PortalComponent:
    """The partner portal and REST API on ``settings.portal_host:portal_port``."""

    name = "portal"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process = ManagedProcess("portal", settings.run_dir / "portal")

    @property
    def url(self) -> str:
        return f"http://{self.settings.portal_host}:{self.settings.portal_port}"

    def start(self) -> None:
        if self.process.running_pid() is not None:
            self.process.stop()
        if port_open(self.settings.portal_port, self.settings.portal_host):
            raise RuntimeError(f"port {self.settings.portal_port} is taken by another program; "
                               "stop it or set EDGEWARD_PORTAL_PORT")
        self.process.log_file.unlink(missing_ok=True)
        proc = self.process.spawn([sys.executable, "-m", "starter.serve"], cwd=ROOT)
        wait_until(lambda: port_open(self.settings.portal_port, self.settings.portal_host), 60,
                   "the portal", self.process.log_file, proc)

    def stop(self) -> bool:
        return self.process.stop()

    def describe(self) -> list[str]:
        return [f"Portal:        {self.url}/  (log in with the demo login)",
                f"REST API:      {self.url}/api/v1  (docs: {self.url}/api/v1/docs)",
                f"Portal log:    {self.process.log_file}"]
