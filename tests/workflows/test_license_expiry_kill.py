"""A sweep whose worker process is killed (SIGKILL) in the middle of a page, on the real Temporal
dev server: a second worker takes over after the heartbeat timeout, resumes from the heartbeated
cursor, and every due license is handled exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from schema import expiry
from schema.settings import get_settings
from starter.temporal_client import with_codec
from tests.factories import make_world
from tests.workflows.license_helpers import licensed_site, outcome_events
from workflows.license_expiry import LicenseExpiryInput, LicenseExpiryResult

ROOT = Path(__file__).resolve().parents[2]
CODES = ("pro", "pro_trial_30", "starter_paid_trial", "waf_starter")


def start_worker(temporal_env: WorkflowEnvironment, db_url: str, task_queue: str, log: Path,
                 edge_log: Path, delay: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EDGEWARD_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "EDGEWARD_TEMPORAL_TASK_QUEUE": task_queue, "EDGEWARD_DATABASE_URL": db_url,
           "SWEEP_CHUNK_DELAY": str(delay), "SWEEP_EDGE_LOG": str(edge_log)}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.workflows.sweep_worker_process"],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "worker polling" not in log.read_text() and time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.05)
    assert "worker polling" in log.read_text(), log.read_text()
    return proc


@pytest.mark.parametrize("then", ["resume", "run_again"])
async def test_a_sweep_killed_mid_page_handles_each_license_once(
        temporal_env: WorkflowEnvironment, db_url: str, sessions: sessionmaker[Session],
        task_queue: str, tmp_path: Path, then: str) -> None:
    """``resume``: the same sweep goes on in a new worker. ``run_again``: the operator also
    terminates the stuck sweep and starts a new one (as ``licenses sweep --now`` does)."""
    client = with_codec(temporal_env.client, get_settings())
    as_of = datetime.now(UTC)
    with sessions.begin() as s:
        w = make_world(s)
        lics = [licensed_site(s, w, CODES[n % 4], as_of - timedelta(days=400),
                              as_of - timedelta(minutes=n)) for n in range(40)]
    edge_log = tmp_path / "edge.jsonl"
    first = start_worker(temporal_env, db_url, task_queue, tmp_path / "a.log", edge_log, 0.1)
    second = None
    try:
        handle = await client.start_workflow(
            "LicenseExpiry", LicenseExpiryInput(chunk_size=2, heartbeat_seconds=2),
            id=f"license-expiry-kill-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
            result_type=LicenseExpiryResult)
        for _ in range(300):  # at most 30 s: until a few chunks are committed
            if len(outcome_events(sessions)) >= 6:
                break
            await asyncio.sleep(0.1)
        first.kill()  # SIGKILL in the middle of the page
        first.wait(10)
        done_before = len(outcome_events(sessions))
        assert 6 <= done_before < 40
        if then == "run_again":
            await handle.terminate("killed by the operator")
            handle = await client.start_workflow(
                "LicenseExpiry", LicenseExpiryInput(chunk_size=2), task_queue=task_queue,
                id=f"license-expiry-again-{uuid.uuid4().hex[:8]}", result_type=LicenseExpiryResult)
        second = start_worker(temporal_env, db_url, task_queue, tmp_path / "b.log", edge_log, 0)
        result = await asyncio.wait_for(handle.result(), 120)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    events = outcome_events(sessions)
    assert {lic: len(evs) for lic, evs in events.items()} == {lic: 1 for lic, _, _ in lics}
    with sessions() as s:
        assert expiry.count_due(s, as_of) == 0
    if then == "run_again":  # the new sweep handles only what the killed one had not
        assert result.handled == 40 - done_before
        return
    assert result.handled == 40 and result.reapply_unfinished == 0
    assert result.counts == {"expire_drop_to_basic": 20, "end_trial": 10, "convert": 10}
    served: dict[str, str] = {}
    for line in edge_log.read_text().splitlines():
        served.update(json.loads(line))
    expected = {d: ("starter" if CODES[n % 4] == "starter_paid_trial" else "basic")
                for n, (_, _, d) in enumerate(lics)}
    assert served == expected  # the killed attempt's sites reached the edge too
