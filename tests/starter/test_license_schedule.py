"""The daily expiry Schedule on the real Temporal dev server: created once, kept in line with the
settings, and the sweep it starts handles the lapsed licenses under its own workflow id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from schema.settings import Settings, get_settings
from starter.expiry_schedule import SCHEDULE_ID, ensure_expiry_schedule, expiry_schedule
from starter.temporal_client import with_codec
from tests.factories import make_world
from tests.workflows.license_helpers import (
    FakeEdge,
    license_worker,
    licensed_site,
    outcome_events,
    security_plan,
)
from workflows.license_expiry import LicenseExpiryInput, LicenseExpiryResult


async def _delete(client: Client) -> None:
    try:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    except RPCError:
        pass  # not there


@pytest.fixture
async def client(temporal_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    c = with_codec(temporal_env.client, get_settings())
    await _delete(c)  # a worker started by another test may have created it
    yield c
    await _delete(c)


async def test_the_schedule_is_created_once_and_follows_the_settings(client: Client,
                                                                     task_queue: str) -> None:
    settings = Settings(temporal_task_queue=task_queue, expiry_schedule_hour=4,
                        expiry_schedule_minute=30)
    assert (await ensure_expiry_schedule(client, settings)).change == "created"
    assert (await ensure_expiry_schedule(client, settings)).change == "unchanged"
    moved = Settings(temporal_task_queue=task_queue, expiry_schedule_hour=5, expiry_schedule_minute=15)
    assert (await ensure_expiry_schedule(client, moved)).change == "updated"
    desc = await client.get_schedule_handle(SCHEDULE_ID).describe()
    assert [(t.hour, t.minute) for t in desc.info.next_action_times[:2]] == [(5, 15), (5, 15)]
    gap = desc.info.next_action_times[1] - desc.info.next_action_times[0]
    assert gap == timedelta(days=1)
    assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    action = desc.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("LicenseExpiry", task_queue)
    assert list(action.args) == []  # each run takes the defaults of the code that runs it


async def test_a_schedule_left_by_older_code_is_brought_in_line(client: Client, task_queue: str) -> None:
    settings = Settings(temporal_task_queue=task_queue)
    old = expiry_schedule(settings)
    old.action = ScheduleActionStartWorkflow("LicenseExpiry", LicenseExpiryInput(page_size=2000),
                                             id="license-expiry", task_queue=task_queue)
    await client.create_schedule(SCHEDULE_ID, old)
    assert (await ensure_expiry_schedule(client, settings)).change == "updated"
    action = (await client.get_schedule_handle(SCHEDULE_ID).describe()).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and list(action.args) == []


async def test_the_scheduled_sweep_handles_lapsed_licenses(client: Client, task_queue: str,
                                                           sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as s:
        w = make_world(s)
        lapsed = licensed_site(s, w, "premium", now - timedelta(days=366), now - timedelta(hours=2))
        current = licensed_site(s, w, "pro", now - timedelta(days=10))
    settings = Settings(temporal_task_queue=task_queue)
    await ensure_expiry_schedule(client, settings)
    handle = client.get_schedule_handle(SCHEDULE_ID)
    edge = FakeEdge()
    async with license_worker(client, task_queue, sessions, edge):
        await handle.trigger()  # what the daily time does
        wid = None
        for _ in range(100):  # at most 10 s for the schedule to start it
            desc = await handle.describe()
            if desc.info.recent_actions:
                wid = desc.info.recent_actions[-1].action.workflow_id
                break
            await asyncio.sleep(0.1)
        assert wid is not None and wid.startswith("license-expiry-")
        result = await client.get_workflow_handle(wid, result_type=LicenseExpiryResult).result()
    assert result.counts == {"expire_drop_to_basic": 1} and result.sites_reapplied == 1
    (event,) = outcome_events(sessions)[lapsed[0]]
    assert event.actor == f"workflow:{wid}"
    assert security_plan(sessions, lapsed[1]) == "basic"
    assert security_plan(sessions, current[1]) == "pro"
    assert edge.last_plan() == {lapsed[2]: "basic"}
