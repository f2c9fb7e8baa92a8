"""``edgeward licenses ...`` against the real Temporal dev server and a worker, SQLite and PostgreSQL:
what an operator types and reads."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from schema.models import License
from schema.settings import get_settings
from starter import cli
from starter.temporal_client import with_codec
from tests.factories import make_world
from tests.workflows.license_helpers import FakeEdge, license_worker, licensed_site


async def edgeward(*argv: str) -> tuple[int, str, str]:
    """Run the CLI in a thread (it runs its own event loop): (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return cli.main(list(argv))
    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, temporal_env: WorkflowEnvironment, db_url: str,
            task_queue: str) -> None:
    monkeypatch.setenv("EDGEWARD_TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    monkeypatch.setenv("EDGEWARD_TEMPORAL_TASK_QUEUE", task_queue)
    monkeypatch.setenv("EDGEWARD_DATABASE_URL", db_url)


@pytest.mark.usefixtures("cli_env")
async def test_sweep_now_shows_progress_and_a_summary(temporal_env: WorkflowEnvironment,
                                                      sessions: sessionmaker[Session],
                                                      task_queue: str) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as s:
        w = make_world(s)
        for n in range(5):
            licensed_site(s, w, "starter", now - timedelta(days=400), now - timedelta(hours=n + 1))
        licensed_site(s, w, "pro_trial_60", now - timedelta(days=61))
        licensed_site(s, w, "backup_large", now - timedelta(days=400), now - timedelta(days=1),
                      auto_renew=True)
    code, out, err = await edgeward("licenses", "sweep")
    assert code == 2 and "add --now" in err
    client = with_codec(temporal_env.client, get_settings())
    async with license_worker(client, task_queue, sessions, FakeEdge()):
        code, out, err = await edgeward("licenses", "sweep", "--now", "--page-size", "3")
    assert code == 0, err
    assert "7 licenses due" in out and "done in" in out and "7 licenses handled" in out
    assert "[##############################] 7/7 licenses" in err
    lines = {line.strip().rsplit(" ", 1)[0].strip(): line.split()[-1] for line in out.splitlines()[2:]}
    assert lines["expired, website dropped to Basic"] == "5"
    assert lines["trial ended, website dropped to Basic"] == "1"
    assert lines["renewed (auto-renewal)"] == "1"
    assert "pages 3" in out and "6 websites re-applied on the edges" in out


@pytest.mark.usefixtures("cli_env")
async def test_list_upgrade_renew_and_auto_renew_by_hand(temporal_env: WorkflowEnvironment,
                                                         sessions: sessionmaker[Session],
                                                         task_queue: str) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as s:
        w = make_world(s, {"pro": 1})
        starter, _, domain = licensed_site(s, w, "starter", now - timedelta(days=30))
        expired, _, _ = licensed_site(s, w, "waf_starter", now - timedelta(days=400), on_site=False)
        s.get_one(License, expired).status = "expired"
    code, out, _ = await edgeward("licenses", "list", "--customer", "C0@example.test")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "Starter" in rows[str(starter)] and domain in rows[str(starter)]
    assert "Expired" in rows[str(expired)] and "WAF Starter" in rows[str(expired)]

    code, _, err = await edgeward("licenses", "upgrade", str(starter), "premium")
    assert code == 2 and "no unused Premium license" in err
    code, _, err = await edgeward("licenses", "auto-renew", str(starter), "on", "--partner",
                                  str(w.partner_id + 1000))
    assert code == 2 and "not found" in err
    client = with_codec(temporal_env.client, get_settings())
    edge = FakeEdge()
    async with license_worker(client, task_queue, sessions, edge):
        code, out, err = await edgeward("licenses", "upgrade", str(starter), "pro")
        assert code == 0, err
        assert "now license" in out and "(Pro, expires" in out
        await client.get_workflow_handle(f"license-upgrade-{starter}").result()
    assert edge.last_plan() == {domain: "pro"}
    code, out, _ = await edgeward("licenses", "auto-renew", str(expired), "on")
    assert (code, out.strip()) == (0, f"license {expired} (WAF Starter): auto-renewal on")
    code, out, _ = await edgeward("licenses", "renew", str(expired))
    assert code == 0 and f"license {expired} (WAF Starter) renewed: expires" in out
