"""Re-apply websites' edge features after their security plan changed.

Started by the expiry sweep (one per page of changed sites) and by the license actions (upgrade,
a renewal that puts a dropped license back). For each batch of ``batch_size`` websites it reads
their current plan and origins from the database and applies them with one ``edge.apply_sites``
call (one admin call per edge). The batch travels from the one activity to the other as a raw
payload: the workflow never decodes thousands of sites (profiling the sweep showed that decoding
dominating). A digest of the sites taken before and after tells whether they changed meanwhile;
if so it applies again, so of two re-applies racing for one site the newest plan wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from activities.edge import ApplySitesOutput
    from activities.licensing import EdgeFingerprint, EdgeSitesInput
    from workflows.shared import DB_RETRY, DB_TIMEOUT, REMOTE_RETRY

EDGE_BATCH = "licensing.edge_batch"
EDGE_FINGERPRINT = "licensing.edge_fingerprint"
APPLY_SITES = "edge.apply_sites"
EDGE_TIMEOUT = timedelta(minutes=2)
# Rounds until the sites stop changing; a change during the last round is applied next time.
MAX_ROUNDS = 3


@dataclass(frozen=True)
class EdgeReapplyInput:
    website_ids: list[int]
    reason: str = ""  # shown in the UI: what changed the plans
    batch_size: int = 2000  # websites per edge.apply_sites call (one admin call per edge)


@dataclass(frozen=True)
class EdgeReapplyResult:
    sites: int  # live sites applied (removed or not yet routed ones are skipped)
    batches: int  # edge.apply_sites calls
    rounds: int


@workflow.defn(name="EdgeReapply")
class EdgeReapplyWorkflow:
    """Bring the edges in line with the current plans of some websites."""

    async def _fingerprint(self, ids: list[int]) -> EdgeFingerprint:
        return await workflow.execute_activity(
            EDGE_FINGERPRINT, EdgeSitesInput(ids), result_type=EdgeFingerprint,
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)

    @workflow.run
    async def run(self, inp: EdgeReapplyInput) -> EdgeReapplyResult:
        ids = sorted(set(inp.website_ids))
        batches = rounds = 0
        before = await self._fingerprint(ids)
        for _ in range(MAX_ROUNDS):
            rounds += 1
            for start in range(0, len(ids), inp.batch_size) if before.sites else ():
                batch: RawValue = await workflow.execute_activity(
                    EDGE_BATCH, EdgeSitesInput(ids[start:start + inp.batch_size]),
                    result_type=RawValue, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
                await workflow.execute_activity(
                    APPLY_SITES, batch, result_type=ApplySitesOutput,
                    start_to_close_timeout=EDGE_TIMEOUT, retry_policy=REMOTE_RETRY)
                batches += 1
            after = await self._fingerprint(ids)
            if after == before:
                break
            before = after
        return EdgeReapplyResult(before.sites, batches, rounds)
