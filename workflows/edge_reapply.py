"""Re-apply websites' edge features after their security plan changed.

Started by the expiry sweep (one per page of changed sites) and by the license actions (upgrade,
a renewal that restores a dropped license). It reads the sites' current plan and origins from the
database, then applies them in batches of ``batch_size`` sites: one ``edge.apply_sites`` call per
batch, which is one admin call per edge. It then reads the sites again and applies once more if
they changed meanwhile, so of two re-applies racing for one site the newest plan wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.edge import ApplySitesInput, ApplySitesOutput, EdgeSite
    from activities.licensing import EdgeSitesInput, EdgeSitesOutput
    from workflows.shared import DB_RETRY, DB_TIMEOUT, REMOTE_RETRY

EDGE_SITES = "licensing.edge_sites"
APPLY_SITES = "edge.apply_sites"
EDGE_TIMEOUT = timedelta(minutes=2)
# Reads until the sites stop changing; a third change during two applies is applied next time.
MAX_ROUNDS = 3


@dataclass(frozen=True)
class EdgeReapplyInput:
    website_ids: list[int]
    reason: str = ""  # shown in the UI: what changed the plans
    batch_size: int = 500


@dataclass(frozen=True)
class EdgeReapplyResult:
    sites: int  # live sites applied (removed or not yet routed ones are skipped)
    batches: int  # edge.apply_sites calls
    rounds: int


@workflow.defn(name="EdgeReapply")
class EdgeReapplyWorkflow:
    """Bring the edges in line with the current plans of some websites."""

    @workflow.run
    async def run(self, inp: EdgeReapplyInput) -> EdgeReapplyResult:
        applied: list[EdgeSite] | None = None
        batches = rounds = 0
        for _ in range(MAX_ROUNDS):
            now: EdgeSitesOutput = await workflow.execute_activity(
                EDGE_SITES, EdgeSitesInput(inp.website_ids), result_type=EdgeSitesOutput,
                start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
            if now.sites == applied:
                break
            for start in range(0, len(now.sites), inp.batch_size):
                await workflow.execute_activity(
                    APPLY_SITES, ApplySitesInput(now.sites[start:start + inp.batch_size]),
                    result_type=ApplySitesOutput, start_to_close_timeout=EDGE_TIMEOUT,
                    retry_policy=REMOTE_RETRY)
                batches += 1
            applied, rounds = now.sites, rounds + 1
        return EdgeReapplyResult(len(applied or []), batches, rounds)
