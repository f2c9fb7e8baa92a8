"""The shared Temporal fixtures work as later tests expect: real time and skipped time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


@workflow.defn(sandboxed=False)
class SleepWorkflow:
    @workflow.run
    async def run(self, days: int) -> str:
        await workflow.sleep(timedelta(days=days))
        return "woke"


async def test_time_skipping_server_finishes_a_week_long_timer(
        time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    async with Worker(time_skipping_env.client, task_queue=task_queue, workflows=[SleepWorkflow]):
        result = await asyncio.wait_for(time_skipping_env.client.execute_workflow(
            SleepWorkflow.run, 7, id=f"sleep-{task_queue}", task_queue=task_queue), timeout=60)
    assert result == "woke"


async def test_dev_server_has_our_search_attributes(temporal_env: WorkflowEnvironment) -> None:
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    resp = await temporal_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default"))
    assert {"EdgewardPartner", "EdgewardCustomer", "EdgewardDomain", "EdgewardStep"} <= set(
        resp.custom_attributes)
