"""worker.py connects with the settings, polls, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent


async def test_worker_polls_and_stops_on_sigterm(temporal_env: WorkflowEnvironment, tmp_path: Path,
                                                 sqlite_url: str, task_queue: str) -> None:
    target = temporal_env.client.service_client.config.target_host
    env = {**os.environ, "EDGEWARD_TEMPORAL_ADDRESS": target,
           "EDGEWARD_TEMPORAL_TASK_QUEUE": task_queue, "EDGEWARD_DATABASE_URL": sqlite_url,
           "EDGEWARD_RUN_DIR": str(tmp_path)}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while "worker polling" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        assert "worker polling" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert "worker stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
