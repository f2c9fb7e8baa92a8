"""The LicenseExpiry sweep on the time-skipping server: weeks of daily runs in seconds.

The time-skipping test server does not implement Schedules (CreateSchedule is "unimplemented"),
so these tests start each day's sweep from the Schedule's own action (``expiry_schedule``):
the same workflow type, input, id prefix and task queue the Schedule uses, at the time of day it
uses. The Schedule itself is tested on the real dev server (test_license_schedule.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.licensing import LicenseActivities
from schema import expiry
from schema.models import License, Website
from schema.plans import Term, add_term
from schema.settings import Settings
from starter.expiry_schedule import expiry_schedule
from tests.factories import make_world
from tests.workflows.license_helpers import (
    FakeEdge,
    count_licenses,
    license_worker,
    licensed_site,
    outcome_events,
    security_plan,
)
from workflows.license_expiry import LicenseExpiryInput, LicenseExpiryResult

YEAR = Term(months=12)


async def run_as_the_schedule(env: WorkflowEnvironment, task_queue: str,
                              at: datetime) -> tuple[str, LicenseExpiryResult]:
    """Start the sweep exactly as the Schedule's action would at ``at``, and wait for it and for
    the edge re-apply it started. The clock stands still meanwhile: only ``env.sleep`` moves it
    (auto-skipping would jump to far-off timers between runs)."""
    action = expiry_schedule(Settings(temporal_task_queue=task_queue)).action
    assert isinstance(action, ScheduleActionStartWorkflow)
    wid = f"{action.id}-{at:%Y-%m-%dT%H:%M:%SZ}"  # the Schedule appends the scheduled time
    with env.auto_time_skipping_disabled():
        result = await env.client.execute_workflow(
            action.workflow, *action.args, id=wid, task_queue=action.task_queue,
            result_type=LicenseExpiryResult)
        await wait_for_reapplies(env.client, wid, result)
    return wid, result


async def wait_for_reapplies(client: Client, wid: str, result: LicenseExpiryResult) -> None:
    """The sweep waited for its edge re-applies; check that they all finished well."""
    assert result.reapply_unfinished == 0


async def test_licenses_lapse_while_the_daily_schedule_runs_for_six_weeks(
        time_skipping_env: WorkflowEnvironment, sessions: sessionmaker[Session], task_queue: str) -> None:
    env = time_skipping_env
    t0 = await env.get_current_time()
    with sessions.begin() as s:
        w = make_world(s)
        paid = licensed_site(s, w, "pro", t0 - timedelta(days=355), t0 + timedelta(days=10, hours=5))
        auto = licensed_site(s, w, "pro", t0 - timedelta(days=360), t0 + timedelta(days=5),
                             auto_renew=True)
        trial = licensed_site(s, w, "pro_trial_30", t0 - timedelta(days=20))
        pwt = licensed_site(s, w, "premium_paid_trial", t0 - timedelta(days=25))
        backup = licensed_site(s, w, "backup_small", t0 - timedelta(days=345),
                               t0 + timedelta(days=20))
        unused = licensed_site(s, w, "starter", t0 - timedelta(days=350), t0 + timedelta(days=15),
                               on_site=False)
        later = licensed_site(s, w, "premium", t0, t0 + timedelta(days=100))
        expiries = {lic_id: s.get(License, lic_id).expires_at
                    for lic_id, _, _ in (paid, auto, trial, pwt, backup, unused, later)}
    edge = FakeEdge()
    # The Schedule's time of day: 03:00 UTC.
    first = t0.replace(hour=3, minute=0, second=0, microsecond=0) + timedelta(days=1)
    sweeps: dict[str, datetime] = {}
    async with license_worker(env.client, task_queue, sessions, edge):
        await env.sleep(first - await env.get_current_time())
        for day in range(42):
            at = first + timedelta(days=day)
            wid, result = await run_as_the_schedule(env, task_queue, at)
            sweeps[f"workflow:{wid}"] = result.as_of
            assert result.as_of >= at
            await env.sleep(timedelta(days=1))

    events = outcome_events(sessions)
    kinds = {lic_id: [e.kind for e in evs] for lic_id, evs in events.items()}
    assert kinds == {paid[0]: ["expired"], auto[0]: ["auto_renewed"], trial[0]: ["trial_ended"],
                     pwt[0]: ["converted"], backup[0]: ["backup_expired"], unused[0]: ["expired"]}
    for lic_id, (ev,) in events.items():
        # Handled by the first daily run after it lapsed, and the event names that run.
        assert ev.actor in sweeps and ev.at == sweeps[ev.actor]
        assert timedelta(0) <= ev.at - expiries[lic_id] < timedelta(days=1)
    assert security_plan(sessions, paid[1]) == "basic"
    assert security_plan(sessions, trial[1]) == "basic"
    assert security_plan(sessions, pwt[1]) == "premium"
    assert security_plan(sessions, auto[1]) == "pro" and security_plan(sessions, later[1]) == "premium"
    with sessions() as s:
        assert s.get(License, auto[0]).expires_at == add_term(expiries[auto[0]], YEAR)
        assert s.get(License, pwt[0]).expires_at == add_term(expiries[pwt[0]], YEAR)
        assert s.get(Website, backup[1]).backup_license_id is None
        assert s.get(License, unused[0]).status == "expired"
    # The edges serve each changed site with its new plan; untouched sites were not re-applied.
    assert edge.last_plan() == {paid[2]: "basic", trial[2]: "basic", pwt[2]: "premium"}
    assert count_licenses(sessions, plan_code="basic", status="active") == 3  # 2 drops + backup holder


async def test_a_big_sweep_pages_batches_the_edge_and_continues_as_new(
        time_skipping_env: WorkflowEnvironment, sessions: sessionmaker[Session], task_queue: str) -> None:
    env = time_skipping_env
    as_of = datetime(2027, 3, 1, 3, tzinfo=UTC)
    with sessions.begin() as s:
        w = make_world(s)
        dropped = [licensed_site(s, w, "starter", as_of - timedelta(days=400),
                                 as_of - timedelta(hours=n)) for n in range(18)]
        renewed = [licensed_site(s, w, "pro", as_of - timedelta(days=400), as_of - timedelta(hours=n),
                                 auto_renew=True) for n in range(7)]
    edge = FakeEdge()
    inp = LicenseExpiryInput(as_of=as_of, page_size=4, chunk_size=3, pages_per_run=2)
    async with license_worker(env.client, task_queue, sessions, edge):
        with env.auto_time_skipping_disabled():
            handle = await env.client.start_workflow(
                "LicenseExpiry", inp, id=f"license-expiry-big-{task_queue}", task_queue=task_queue,
                result_type=LicenseExpiryResult)
            result = await handle.result()
            await wait_for_reapplies(env.client, handle.id, result)
        first_run = await env.client.get_workflow_handle(
            handle.id, run_id=handle.first_execution_run_id).fetch_history()
    assert result.handled == 25 and result.counts == {"expire_drop_to_basic": 18, "renew": 7}
    assert result.pages == 7 and result.runs == 4  # 25 licenses / 4 per page; 2 pages per run
    assert first_run.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert len(first_run.events) < 40  # each run's history stays small
    # One edge call per page of changed sites, not one per site; every dropped site is on Basic.
    assert len(edge.calls) == result.reapply_workflows < len(dropped)
    assert result.sites_reapplied == len(dropped)
    assert edge.last_plan() == {d: "basic" for _, _, d in dropped}
    assert len({lic for lic, *_ in renewed} & set(outcome_events(sessions))) == 7


class CrashAfterSecondCommit(LicenseActivities):
    """Dies (once) right after its second chunk committed, before it could heartbeat: the worst
    moment for a sweep to be killed."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self.chunks = 0

    def _chunk(self, *args):  # type: ignore[no-untyped-def]
        out = super()._chunk(*args)
        self.chunks += 1
        if self.chunks == 2:
            raise RuntimeError("worker killed after a commit")
        return out


async def test_a_sweep_killed_after_a_commit_handles_each_license_exactly_once(
        time_skipping_env: WorkflowEnvironment, sessions: sessionmaker[Session], task_queue: str) -> None:
    env = time_skipping_env
    as_of = datetime(2027, 5, 1, 3, tzinfo=UTC)
    with sessions.begin() as s:
        w = make_world(s)
        sites = [licensed_site(s, w, code, as_of - timedelta(days=400), as_of - timedelta(minutes=n))
                 for n, code in enumerate(["pro", "pro_trial_60", "waf_starter"] * 5)]
    edge = FakeEdge()
    acts = CrashAfterSecondCommit(sessions)
    async with license_worker(env.client, task_queue, sessions, edge, acts):
        with env.auto_time_skipping_disabled():  # the retry waits its real 1 s backoff
            handle = await env.client.start_workflow(
                "LicenseExpiry", LicenseExpiryInput(as_of=as_of, chunk_size=2),
                id=f"license-expiry-crash-{task_queue}", task_queue=task_queue,
                result_type=LicenseExpiryResult)
            result = await handle.result()
            await wait_for_reapplies(env.client, handle.id, result)
    assert acts.chunks > 2  # it did die, and the retry went on
    events = outcome_events(sessions)
    assert {lic: len(evs) for lic, evs in events.items()} == {lic: 1 for lic, _, _ in sites}
    # The report is read back from the events, so the crashed attempt's chunk is counted too,
    # and its sites reach the edge.
    assert result.handled == 15
    assert edge.last_plan() == {d: "basic" for _, _, d in sites}
    with sessions() as s:
        assert expiry.count_due(s, as_of) == 0
