"""DelegationWait: wait, durably, until the parent zone delegates a domain to our name servers.

Add Website step 4 (Initiate DNS / Auto SSL). Re-checks on a backoff growing from 30 s to 1 h,
at once on the ``check_now`` signal (the portal's "check now" button), answers the
``last_result`` query with the last ``DelegationStatus``, and fails with a clear reason once the
deadline (default 14 days: pass ``settings.delegation_deadline_days``) has passed. Long waits
continue as new with their progress, so the history stays small. Workflow id
``delegation-wait-<ascii domain>`` by convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.delegation import CheckDelegationInput, DelegationStatus
    from workflows.shared import NON_RETRYABLE

FIRST_INTERVAL = timedelta(seconds=30)
MAX_INTERVAL = timedelta(hours=1)
BACKOFF = 2.0
CHECK_TIMEOUT = timedelta(seconds=30)
# One check retries briefly; a check that still fails counts as "not yet" and the wait goes on.
CHECK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                          maximum_interval=timedelta(seconds=20), maximum_attempts=3,
                          non_retryable_error_types=NON_RETRYABLE)
DEADLINE_ERROR = "DelegationDeadline"


@dataclass(frozen=True)
class DelegationWaitInput:
    """The domain to watch and how long to wait.

    ``expected`` empty means the worker's configured name servers (``settings.nameservers``).
    ``started_at``/``checks``/``interval_seconds`` carry progress across continue-as-new; leave
    them at their defaults.
    """

    domain: str
    deadline_days: float = 14.0
    expected: tuple[str, ...] = ()
    started_at: str = ""  # ISO 8601 of the first run's start
    checks: int = 0
    interval_seconds: float = 0.0


@dataclass(frozen=True)
class DelegationWaitOutput:
    """The delegation as seen when it matched."""

    domain: str  # absolute ASCII
    nameservers: tuple[str, ...]  # what the parent now delegates to (ours)
    checks: int  # how many look-ups it took
    waited_seconds: float


@workflow.defn(name="DelegationWait")
class DelegationWaitWorkflow:
    """Polls ``delegation.check`` until the parent's NS set is ours, or the deadline passes
    (non-retryable ``DelegationDeadline`` failure naming what the parent still delegates to)."""

    def __init__(self) -> None:
        self._last: DelegationStatus | None = None
        self._check_requested = False

    @workflow.run
    async def run(self, inp: DelegationWaitInput) -> DelegationWaitOutput:
        started = datetime.fromisoformat(inp.started_at) if inp.started_at else workflow.now()
        deadline = started + timedelta(days=inp.deadline_days)
        interval = timedelta(seconds=inp.interval_seconds) if inp.interval_seconds else FIRST_INTERVAL
        checks = inp.checks
        while True:
            self._check_requested = False
            status = await self._check(inp)
            checks += 1
            now = workflow.now()
            if status is not None and status.delegated:
                return DelegationWaitOutput(status.domain, status.found, checks,
                                            (now - started).total_seconds())
            if now >= deadline:
                raise ApplicationError(self._deadline_reason(inp), type=DEADLINE_ERROR,
                                       non_retryable=True)
            try:
                await workflow.wait_condition(lambda: self._check_requested,
                                              timeout=min(interval, deadline - now))
            except TimeoutError:
                interval = min(interval * BACKOFF, MAX_INTERVAL)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(DelegationWaitInput(
                    inp.domain, inp.deadline_days, inp.expected, started.isoformat(), checks,
                    interval.total_seconds()))

    async def _check(self, inp: DelegationWaitInput) -> DelegationStatus | None:
        try:
            self._last = await workflow.execute_activity(
                "delegation.check", CheckDelegationInput(inp.domain, inp.expected),
                result_type=DelegationStatus, start_to_close_timeout=CHECK_TIMEOUT,
                retry_policy=CHECK_RETRY)
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise  # bad input (e.g. not a domain): waiting cannot fix it
            workflow.logger.warning("delegation check of %s failed: %s", inp.domain, cause)
            return None
        return self._last

    def _deadline_reason(self, inp: DelegationWaitInput) -> str:
        days = f"{inp.deadline_days:g} day" + ("" if inp.deadline_days == 1 else "s")
        if self._last is None:
            return f"the delegation of {inp.domain} could not be checked for {days}"
        return (f"gave up after {days}: {self._last.detail}. Add the website again once the "
                "name servers are changed")

    @workflow.signal(name="check_now")
    def check_now(self) -> None:
        """Re-check at once (the customer says they changed the name servers)."""
        self._check_requested = True

    @workflow.query(name="last_result")
    def last_result(self) -> DelegationStatus | None:
        """The last look-up's result (None before the first one finished)."""
        return self._last
