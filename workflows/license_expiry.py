"""The daily license expiry sweep, started by a Temporal Schedule (or ``edgeward licenses sweep``).

It walks the due licenses in keyset pages, one ``licensing.sweep_page`` activity per page (each
heartbeats its cursor), and continues as new every ``pages_per_run`` pages so its history stays
small however many licenses are due. Every transition is a license event whose actor is
``workflow:<this workflow's id>``.

Websites whose security plan changed (dropped to Basic, trial ended, converted) get their edge
features re-applied by ``EdgeReapply`` child workflows, one per ``REAPPLY_SITES`` websites,
started when the run's pages are done: run alongside the pages they slowed them down threefold
(bench/expiry_sweep.py), and the edges only follow the database by the run's duration this way.
A run waits for its children at most ``REAPPLY_WAIT`` (to report them); they are abandoned, not
cancelled, so an edge outage delays the edges but never the sweep or the next day's run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.licensing import SweepCursor, SweepPageInput, SweepPageOutput
    from workflows.edge_reapply import EdgeReapplyInput, EdgeReapplyWorkflow
    from workflows.shared import DB_RETRY

WORKFLOW_NAME = "LicenseExpiry"
SWEEP_PAGE = "licensing.sweep_page"
PAGE_TIMEOUT = timedelta(minutes=30)
PAGE_HEARTBEAT = timedelta(seconds=60)
REAPPLY_WAIT = timedelta(minutes=30)
REAPPLY_SITES = 10_000  # websites per EdgeReapply child


@dataclass(frozen=True)
class LicenseExpiryInput:
    """How to sweep; the Schedule passes the defaults. The fields after ``heartbeat_seconds``
    carry a sweep across continue-as-new."""

    as_of: datetime | None = None  # None: the time this sweep starts (workflow time)
    page_size: int = 20_000  # licenses per activity
    chunk_size: int | None = None  # licenses per transaction; None: the database's default
    pages_per_run: int = 25
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


@workflow.defn(name=WORKFLOW_NAME)
class LicenseExpiryWorkflow:
    """One sweep of the due licenses at ``as_of``, across as many runs as it takes."""

    def __init__(self) -> None:
        self._progress = SweepProgress(None, 0, {}, 0, 1, False)

    @workflow.query(name="progress")
    def progress(self) -> SweepProgress:
        return self._progress

    async def _reapply(self, website_ids: list[int], as_of: datetime) -> tuple[int, int, int]:
        """Start the re-applies of this run's changed websites and wait for them at most
        REAPPLY_WAIT: (children started, sites applied, children not finished well)."""
        ids = sorted(set(website_ids))
        children = []
        for start in range(0, len(ids), REAPPLY_SITES):
            # workflow.uuid4() is replay-safe; the id names the sweep's time for the UI.
            children.append(await workflow.start_child_workflow(
                EdgeReapplyWorkflow.run,
                EdgeReapplyInput(ids[start:start + REAPPLY_SITES],
                                 f"license expiry at {as_of.isoformat()}"),
                id=f"license-expiry-edge-{as_of:%Y%m%dT%H%M%SZ}-{workflow.uuid4().hex[:12]}",
                task_queue=workflow.info().task_queue, parent_close_policy=ParentClosePolicy.ABANDON))
        if children:
            await workflow.wait(children, timeout=REAPPLY_WAIT.total_seconds())
        sites = unfinished = 0
        for child in children:
            if not child.done():
                unfinished += 1
            elif isinstance(child.exception(), ChildWorkflowError):
                workflow.logger.warning("edge re-apply %s failed", child.id)
                unfinished += 1
            else:
                sites += child.result().sites
        return len(children), sites, unfinished

    @workflow.run
    async def run(self, inp: LicenseExpiryInput | None = None) -> LicenseExpiryResult:
        inp = inp or LicenseExpiryInput()  # the Schedule passes nothing: today's defaults apply
        as_of = inp.as_of or workflow.now()
        actor = f"workflow:{workflow.info().workflow_id}"
        after, floor, counts = inp.after, inp.event_floor, dict(inp.counts)
        handled, pages, changed = inp.handled, inp.pages, []
        done = False
        self._progress = SweepProgress(as_of, handled, counts, pages, inp.runs, False)
        for _ in range(inp.pages_per_run):
            out: SweepPageOutput = await workflow.execute_activity(
                SWEEP_PAGE, SweepPageInput(as_of, actor, after, inp.page_size, inp.chunk_size, floor),
                result_type=SweepPageOutput, start_to_close_timeout=PAGE_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=inp.heartbeat_seconds), retry_policy=DB_RETRY)
            pages, done = pages + 1, out.done
            after, floor = out.after or after, out.event_floor
            counts, handled = _add(counts, out.counts), handled + out.handled
            changed += out.website_ids
            self._progress = SweepProgress(as_of, handled, counts, pages, inp.runs, done)
            if done:
                break
        started, sites, unfinished = await self._reapply(changed, as_of)
        reapplies = inp.reapply_workflows + started
        sites, unfinished = inp.sites_reapplied + sites, inp.reapply_unfinished + unfinished
        if not done:
            workflow.continue_as_new(LicenseExpiryInput(
                as_of, inp.page_size, inp.chunk_size, inp.pages_per_run, inp.heartbeat_seconds, after,
                floor, counts, handled, pages, inp.runs + 1, reapplies, sites, unfinished))
        return LicenseExpiryResult(as_of, handled, counts, pages, inp.runs, reapplies, sites,
                                   unfinished)
