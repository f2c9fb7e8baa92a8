"""A worker process for the kill test: the real license workflows and activities, each chunk
slowed by ``SWEEP_CHUNK_DELAY`` seconds so the test can kill it in the middle of a page, and a
fake ``edge.apply_sites`` that appends each batch to the file ``SWEEP_EDGE_LOG`` (JSON lines).

Run as ``python -m tests.workflows.sweep_worker_process`` with the EDGEWARD_* settings of the
test's Temporal server, task queue and database.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.worker import Worker

from activities.edge import ApplySitesInput, ApplySitesOutput
from activities.licensing import LicenseActivities
from schema.db import make_engine, make_session_factory
from schema.settings import get_settings
from starter.temporal_client import connect
from workflows.edge_reapply import EdgeReapplyWorkflow
from workflows.license_expiry import LicenseExpiryWorkflow


class SlowLicenseActivities(LicenseActivities):
    def _chunk(self, *args: Any) -> Any:
        time.sleep(float(os.environ.get("SWEEP_CHUNK_DELAY", "0")))
        return super()._chunk(*args)


@activity.defn(name="edge.apply_sites")
async def apply_sites(inp: ApplySitesInput) -> ApplySitesOutput:
    with open(os.environ["SWEEP_EDGE_LOG"], "a") as log:
        log.write(json.dumps({s.domain: s.plan_code for s in inp.sites}) + "\n")
    return ApplySitesOutput(["file-edge"], len(inp.sites), 0)


async def main() -> None:
    settings = get_settings()
    client = await connect(settings)
    acts = SlowLicenseActivities(make_session_factory(make_engine(settings.resolved_database_url)))
    with ThreadPoolExecutor(4) as pool:
        async with Worker(client, task_queue=settings.temporal_task_queue,
                          workflows=[LicenseExpiryWorkflow, EdgeReapplyWorkflow],
                          activities=[acts.sweep_page, acts.edge_batch, acts.edge_fingerprint, apply_sites],
                          activity_executor=pool,
                          # A killed worker's sticky workflow tasks move on after 1 s, not 10 s.
                          sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)):
            print("worker polling", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
