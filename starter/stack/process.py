"""Start, watch and stop one server process, with a PID file and a log file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class StartError(RuntimeError):
    """A component did not become ready; the message ends with the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None,
               proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``check`` every 50 ms for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise StartError(f"{what} did not become ready within {timeout:.0f} s{tail}")


class ManagedProcess:
    """One server process in ``folder``: ``pid`` and ``log`` files live there."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self.pid_file = folder / "pid"
        self.log_file = folder / "log"
        self.proc: subprocess.Popen[bytes] | None = None

    def running_pid(self) -> int | None:
        """The PID from the PID file when that process is still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own session (so stop() reaches its children too)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **(env or {})}
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=full_env, cwd=cwd or self.folder, start_new_session=True)
        self.pid_file.write_text(str(self.proc.pid))
        return self.proc

    def stop(self, timeout: float = 10.0) -> bool:
        """SIGTERM the process group, SIGKILL after ``timeout``; True when something ran."""
        pid = self.proc.pid if self.proc is not None else self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid, self.proc):
            time.sleep(0.05)
        if _alive(pid, self.proc):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid, self.proc) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        self.proc = None
        return True

    def kill(self) -> None:
        """SIGKILL at once (crash tests)."""
        pid = self.proc.pid if self.proc is not None else self.running_pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            if self.proc is not None:
                self.proc.wait(10)
        self.pid_file.unlink(missing_ok=True)
        self.proc = None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _alive(pid: int, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie that is not our child still answers kill(0); look at its state.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return False
