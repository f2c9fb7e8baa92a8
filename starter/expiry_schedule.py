"""The Temporal Schedule that runs the license expiry sweep every day, and running it at once.

``ensure_expiry_schedule`` creates the schedule, or updates it when the settings changed (time of
day, task queue); the worker calls it at start-up and ``edgeward licenses schedule`` on demand.
Overlap policy SKIP: a day's sweep does not start while the previous one still runs. The
schedule starts ``LicenseExpiry`` with id ``license-expiry-<scheduled time>`` (Temporal appends
the time), so each day's transitions name their run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)

from schema.settings import Settings
from workflows.license_expiry import (
    WORKFLOW_NAME,
    LicenseExpiryInput,
    LicenseExpiryResult,
    LicenseExpiryWorkflow,
)

SCHEDULE_ID = "license-expiry"
WORKFLOW_ID_PREFIX = "license-expiry"
# A sweep missed while Temporal was down still runs if Temporal is back within this window.
CATCHUP_WINDOW = timedelta(hours=20)


def expiry_schedule(settings: Settings) -> Schedule:
    """Daily at ``expiry_schedule_hour:expiry_schedule_minute`` UTC, overlap SKIP."""
    return Schedule(
        # No input: each run takes the defaults of the code that runs it.
        action=ScheduleActionStartWorkflow(
            WORKFLOW_NAME, id=WORKFLOW_ID_PREFIX, task_queue=settings.temporal_task_queue),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(
            hour=[ScheduleRange(settings.expiry_schedule_hour)],
            minute=[ScheduleRange(settings.expiry_schedule_minute)],
            comment="daily license expiry sweep")], time_zone_name="UTC"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note="Edgeward: expire, renew, convert and drop licenses"))


def _signature(s: Schedule) -> tuple[object, ...]:
    """What ``ensure`` keeps in line with the settings."""
    action = s.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    times = [(tuple(c.hour), tuple(c.minute)) for c in s.spec.calendars]
    return (action.workflow, len(action.args), action.task_queue, action.id, times,
            s.policy.overlap)


@dataclass(frozen=True)
class EnsureResult:
    schedule_id: str
    change: str  # "created", "updated" or "unchanged"


async def ensure_expiry_schedule(client: Client, settings: Settings) -> EnsureResult:
    """Create the schedule, or bring an existing one in line with ``settings``; idempotent."""
    wanted = expiry_schedule(settings)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        return EnsureResult(SCHEDULE_ID, "created")
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(SCHEDULE_ID)
    current = (await handle.describe()).schedule
    if _signature(current) == _signature(wanted):
        return EnsureResult(SCHEDULE_ID, "unchanged")

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=wanted)

    await handle.update(update)
    return EnsureResult(SCHEDULE_ID, "updated")


def manual_workflow_id(now: datetime | None = None) -> str:
    """The id of a sweep started by hand: one per minute, so a double submit starts one."""
    return f"{WORKFLOW_ID_PREFIX}-now-{(now or datetime.now(UTC)):%Y-%m-%dT%H:%MZ}"


async def start_sweep_now(client: Client, settings: Settings,
                          inp: LicenseExpiryInput | None = None,
                          workflow_id: str | None = None) -> WorkflowHandle[LicenseExpiryWorkflow,
                                                                            LicenseExpiryResult]:
    """Start a sweep at once (the same workflow and input the schedule starts)."""
    return await client.start_workflow(
        LicenseExpiryWorkflow.run, inp or LicenseExpiryInput(), id=workflow_id or manual_workflow_id(),
        task_queue=settings.temporal_task_queue)
