"""The daily license expiry sweep, started by a Temporal Schedule (or ``edgeward licenses sweep``).

It walks the due licenses in keyset pages, one ``licensing.sweep_page`` activity per page (each
heartbeats its cursor), and continues as new every ``pages_per_run`` pages so its history stays
small however many licenses are due. Every transition is a license event whose actor is
``workflow:<this workflow's id>``. Websites whose security plan changed (dropped to Basic, trial
ended, converted) get their edge features re-applied by an ``EdgeReapply`` child workflow per
page (one admin call per edge per batch). Before it completes or continues as new a run waits for
its children at most ``REAPPLY_WAIT``, to report them; the children are abandoned, not cancelled,
so an edge outage delays the edges but never holds up the sweep or the next day's run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.licensing import SweepCursor, SweepPageInput, SweepPageOutput
    from workflows.edge_reapply import EdgeReapplyInput, EdgeReapplyResult, EdgeReapplyWorkflow
    from workflows.shared import DB_RETRY

SWEEP_PAGE = "licensing.sweep_page"
PAGE_TIMEOUT = timedelta(minutes=30)
PAGE_HEARTBEAT = timedelta(seconds=60)
REAPPLY_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class LicenseExpiryInput:
    """How to sweep; the Schedule passes the defaults. The fields after ``heartbeat_seconds``
    carry a sweep across continue-as-new."""

    as_of: datetime | None = None  # None: the time this sweep starts (workflow time)
    page_size: int = 2000
    chunk_size: int = 500
    pages_per_run: int = 50
    heartbeat_seconds: float = PAGE_HEARTBEAT.total_seconds()
    after: SweepCursor | None = None
    event_floor: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    handled: int = 0
    pages: int = 0
    runs: int = 1
    reapply_workflows: int = 0
    sites_reapplied: int = 0
    reapply_unfinished: int = 0


@dataclass(frozen=True)
class LicenseExpiryResult:
    as_of: datetime
    handled: int
    counts: dict[str, int]  # outcome -> licenses (see schema.plans.ExpiryOutcome)
    pages: int
    runs: int  # this run and the ones it continued from
    reapply_workflows: int  # EdgeReapply children started
    sites_reapplied: int = 0  # live sites their edges now serve with the new plan
    reapply_unfinished: int = 0  # children still retrying (edge down) or failed when it ended


@dataclass(frozen=True)
class SweepProgress:
    """What the ``progress`` query answers (the CLI's progress bar)."""

    as_of: datetime | None
    handled: int
    counts: dict[str, int]
    pages: int
    runs: int
    done: bool


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}


@workflow.defn(name="LicenseExpiry")
class LicenseExpiryWorkflow:
    """One sweep of the due licenses at ``as_of``, across as many runs as it takes."""

    def __init__(self) -> None:
        self._progress = SweepProgress(None, 0, {}, 0, 1, False)
        self._children: list[ChildWorkflowHandle[EdgeReapplyWorkflow, EdgeReapplyResult]] = []
        self._trackers: list[asyncio.Task[None]] = []
        self._pending = 0
        self._sites_reapplied = 0

    async def _track(self, child: ChildWorkflowHandle[EdgeReapplyWorkflow, EdgeReapplyResult]) -> None:
        try:
            out = await child
            self._sites_reapplied += out.sites
        except ChildWorkflowError:
            workflow.logger.warning("edge re-apply %s failed", child.id)
        self._pending -= 1

    async def _wait_for_children(self) -> int:
        """Wait for this run's re-applies at most REAPPLY_WAIT; returns how many did not finish
        well (still running, or failed)."""
        try:
            await workflow.wait_condition(lambda: self._pending == 0, timeout=REAPPLY_WAIT)
        except TimeoutError:
            pass
        return sum(1 for c in self._children if not c.done() or c.exception() is not None)

    @workflow.query(name="progress")
    def progress(self) -> SweepProgress:
        return self._progress

    @workflow.run
    async def run(self, inp: LicenseExpiryInput) -> LicenseExpiryResult:
        info = workflow.info()
        as_of = inp.as_of or workflow.now()
        actor = f"workflow:{info.workflow_id}"
        after, floor, counts = inp.after, inp.event_floor, dict(inp.counts)
        handled, pages, reapplies = inp.handled, inp.pages, inp.reapply_workflows
        self._progress = SweepProgress(as_of, handled, counts, pages, inp.runs, False)
        for _ in range(inp.pages_per_run):
            out: SweepPageOutput = await workflow.execute_activity(
                SWEEP_PAGE, SweepPageInput(as_of, actor, after, inp.page_size, inp.chunk_size, floor),
                result_type=SweepPageOutput, start_to_close_timeout=PAGE_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=inp.heartbeat_seconds), retry_policy=DB_RETRY)
            pages += 1
            after, floor = out.after or after, out.event_floor
            counts, handled = _add(counts, out.counts), handled + out.handled
            if out.website_ids:
                # workflow.uuid4() is replay-safe; the id names the sweep's time for the UI.
                child = await workflow.start_child_workflow(
                    EdgeReapplyWorkflow.run,
                    EdgeReapplyInput(out.website_ids, f"license expiry at {as_of.isoformat()}"),
                    id=f"license-expiry-edge-{as_of:%Y%m%dT%H%M%SZ}-{workflow.uuid4().hex[:12]}",
                    task_queue=info.task_queue, parent_close_policy=ParentClosePolicy.ABANDON)
                self._children.append(child)
                self._pending += 1
                self._trackers.append(asyncio.create_task(self._track(child)))
                reapplies += 1
            self._progress = SweepProgress(as_of, handled, counts, pages, inp.runs, out.done)
            if out.done:
                break
        unfinished = inp.reapply_unfinished + await self._wait_for_children()
        sites = inp.sites_reapplied + self._sites_reapplied
        if not self._progress.done:
            workflow.continue_as_new(LicenseExpiryInput(
                as_of, inp.page_size, inp.chunk_size, inp.pages_per_run, inp.heartbeat_seconds, after,
                floor, counts, handled, pages, inp.runs + 1, reapplies, sites, unfinished))
        return LicenseExpiryResult(as_of, handled, counts, pages, inp.runs, reapplies, sites,
                                   unfinished)
