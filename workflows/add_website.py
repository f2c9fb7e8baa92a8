"""AddWebsite: provision one website end to end (DESIGN.md, "Add Website"), workflow id
``website-<website id>`` (one run per website: a double submit starts nothing twice).

The website row already exists (the starter recorded it with its license). Then:
- Initiate DNS (``import``/``import_ssl``): the DnsImport child reads the current zone and
  serves it from our hosted DNS; its original web addresses become the origin.
  No DNS (``none``): the origin is the address the user gave, else the domain's current apex
  address records (read with ``dns_import.read_zone``).
- Every mode: the site goes on every edge, in parallel (route for the domain and www, reverse
  proxy to the origin, the plan's WAF rules).
- Auto SSL (``import_ssl``): the DelegationWait child waits until the parent delegates to our
  name servers (``check_now`` is forwarded to it); IssueCertificate gets a certificate; it is
  installed on every edge in parallel and verified by a TLS handshake; the renewal workflow is
  started for the site (it outlives this run).
Each step is written to ``websites.step`` / ``step_reason`` and to the ``EdgewardStep`` search
attribute; ``progress`` answers the current one. A failure ends in "Failed" with the reason and
what the user can do; a cancellation removes what this run created and ends in "Cancelled".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.db import RecordOriginInput, SetStepInput, WebsiteInfo, WebsiteRef
    from activities.dns_import import ReadZoneInput, ReadZoneOutput
    from activities.edge import ApplySitesInput, EdgeInventory, EdgeSite, RemoveSiteInput
    from activities.hosted_dns import DeleteZoneInput
    from workflows.delegation_wait import DelegationWaitInput, DelegationWaitWorkflow
    from workflows.dns_import import DnsImportInput, DnsImportOutput, DnsImportWorkflow
    from workflows.issue_certificate import (
        IssueCertificateInput,
        IssueCertificateOutput,
        IssueCertificateWorkflow,
        install_everywhere,
    )
    from workflows.renew_certificate import RenewCertificateInput, RenewCertificateWorkflow
    from workflows.shared import DB_RETRY, DB_TIMEOUT, REMOTE_RETRY, SA_STEP

# The visible steps (the Site Provisioning column and the EdgewardStep search attribute).
PENDING = "Pending"
IMPORTING_DNS = "Importing DNS"
FINDING_ORIGIN = "Finding origin"
CONFIGURING_EDGE = "Configuring edge"
WAITING_NS = "Waiting for name servers"
ISSUING = "Issuing certificate"
INSTALLING = "Installing certificate"
COMPLETED = "Completed"
FAILED = "Failed"
CANCELLED = "Cancelled"
STEPS = (PENDING, IMPORTING_DNS, FINDING_ORIGIN, CONFIGURING_EDGE, WAITING_NS, ISSUING, INSTALLING,
         COMPLETED, FAILED, CANCELLED)
DNS_MODES = ("none", "import", "import_ssl")

EDGE_CALL = timedelta(minutes=1)
READ_ZONE = timedelta(minutes=10)
HEARTBEAT = timedelta(minutes=2)


@dataclass(frozen=True)
class AddWebsiteInput:
    website_id: int
    partner_id: int
    customer_id: int
    domain: str  # ASCII (IDNA) form
    dns_mode: str  # "none" | "import" | "import_ssl"
    origin: str | None = None  # the user's origin address; None: found from DNS
    delegation_deadline_days: float = 14.0
    dns_wait_seconds: float = 600.0  # how long our name servers may take to answer a challenge


@dataclass(frozen=True)
class Progress:
    """The current step and why (for a failure: the reason and what to do)."""

    step: str
    reason: str = ""


@dataclass(frozen=True)
class AddWebsiteOutput:
    website_id: int
    origins: list[str]
    instructions: str  # what the customer must change: name servers or records
    nameservers: list[str] = field(default_factory=list)
    certificate_id: int | None = None


def workflow_id(website_id: int) -> str:
    return f"website-{website_id}"


def renewal_id(website_id: int) -> str:
    return f"website-{website_id}-renewal"


@workflow.defn(name="AddWebsite")
class AddWebsiteWorkflow:
    """Add Website for the three DNS modes; see the module docstring."""

    def __init__(self) -> None:
        self._progress = Progress(PENDING)
        self._delegation: ChildWorkflowHandle | None = None
        self._check_requested = False
        self._edges_configured = False
        self._zone_created: str | None = None
        self._renewal_started = False

    @workflow.run
    async def run(self, inp: AddWebsiteInput) -> AddWebsiteOutput:
        if inp.dns_mode not in DNS_MODES:
            raise ApplicationError(f"unknown DNS mode {inp.dns_mode!r}; use none, import or "
                                   "import_ssl", type="InvalidInput", non_retryable=True)
        try:
            return await self._provision(inp)
        except asyncio.CancelledError:
            await self._cancelled(inp)
            raise
        except FailureError as exc:
            if cancelled(exc):  # a child or activity ended because this run was cancelled
                await self._cancelled(inp)
                raise
            reason = failure_reason(exc)
            await self._step(inp, FAILED, reason)
            raise ApplicationError(reason, type="AddWebsiteFailed", non_retryable=True) from exc

    async def _provision(self, inp: AddWebsiteInput) -> AddWebsiteOutput:
        site: WebsiteInfo = await workflow.execute_activity(
            "db.get_website", WebsiteRef(inp.website_id), result_type=WebsiteInfo,
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        nameservers: list[str] = []
        zone = f"{inp.domain}."
        if inp.dns_mode == "none":
            await self._step(inp, FINDING_ORIGIN)
            origins = [inp.origin] if inp.origin else await self._current_addresses(inp.domain)
        else:
            await self._step(inp, IMPORTING_DNS)
            imported: DnsImportOutput = await workflow.execute_child_workflow(
                DnsImportWorkflow.run, DnsImportInput(inp.domain),
                id=f"{workflow_id(inp.website_id)}-dns-import",
                search_attributes=workflow.info().typed_search_attributes)
            if imported.created:
                self._zone_created = imported.zone
            zone, nameservers = imported.zone, list(imported.nameservers)
            origins = [inp.origin] if inp.origin else list(imported.origin_addresses)
        if not origins:
            raise ApplicationError(f"{inp.domain} has no address records, so the origin is unknown;"
                                   " add the website again giving its web server's address",
                                   type="PermanentError", non_retryable=True)
        await workflow.execute_activity(
            "db.record_origin", RecordOriginInput(inp.website_id, origins),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)

        await self._step(inp, CONFIGURING_EDGE)
        edges: EdgeInventory = await workflow.execute_activity(
            "edge.list_edges", start_to_close_timeout=EDGE_CALL, retry_policy=REMOTE_RETRY,
            result_type=EdgeInventory)
        self._edges_configured = True
        the_site = EdgeSite(inp.domain, site.plan_code, origins)
        await asyncio.gather(*(workflow.execute_activity(
            "edge.apply_sites", ApplySitesInput([the_site], [name]),
            start_to_close_timeout=EDGE_CALL, retry_policy=REMOTE_RETRY) for name in edges.names))
        instructions = (f"Set the name servers of {inp.domain} to {', '.join(nameservers)}"
                        if nameservers else
                        f"Point {inp.domain} and www.{inp.domain} at {', '.join(edges.addresses)}")
        if inp.dns_mode != "import_ssl":
            await self._step(inp, COMPLETED, instructions)
            return AddWebsiteOutput(inp.website_id, origins, instructions, nameservers)

        await self._step(inp, WAITING_NS, instructions)
        self._delegation = await workflow.start_child_workflow(
            DelegationWaitWorkflow.run, DelegationWaitInput(inp.domain, inp.delegation_deadline_days),
            id=f"{workflow_id(inp.website_id)}-delegation-wait",
            search_attributes=workflow.info().typed_search_attributes)
        if self._check_requested:
            await self._delegation.signal("check_now")
        await self._delegation
        self._delegation = None

        await self._step(inp, ISSUING)
        names = [inp.domain, f"www.{inp.domain}"]
        cert: IssueCertificateOutput = await workflow.execute_child_workflow(
            IssueCertificateWorkflow.run,
            IssueCertificateInput(inp.website_id, zone, names, inp.dns_wait_seconds),
            id=f"{workflow_id(inp.website_id)}-certificate-1",
            search_attributes=workflow.info().typed_search_attributes)
        await self._step(inp, INSTALLING)
        await install_everywhere(inp.domain, cert.certificate_id, cert.sha256)
        await self._start_renewal(inp, zone, names, cert)
        await self._step(inp, COMPLETED, f"served over HTTPS by {len(edges.names)} edges; "
                                         f"certificate valid until {cert.not_after[:10]}")
        return AddWebsiteOutput(inp.website_id, origins, instructions, nameservers,
                                cert.certificate_id)

    async def _current_addresses(self, domain: str) -> list[str]:
        """No DNS: the apex A/AAAA records the domain's current servers answer."""
        read: ReadZoneOutput = await workflow.execute_activity(
            "dns_import.read_zone", ReadZoneInput(domain), result_type=ReadZoneOutput,
            start_to_close_timeout=READ_ZONE, heartbeat_timeout=HEARTBEAT, retry_policy=REMOTE_RETRY)
        apex = f"{domain}."
        found = [c for t in ("A", "AAAA") for s in read.rrsets if s.name == apex and s.type == t
                 for c in s.contents]
        return found

    async def _start_renewal(self, inp: AddWebsiteInput, zone: str, names: list[str],
                             cert: IssueCertificateOutput) -> None:
        try:
            await workflow.start_child_workflow(
                RenewCertificateWorkflow.run,
                RenewCertificateInput(inp.website_id, inp.domain, zone, names, cert.not_before,
                                      cert.not_after, inp.dns_wait_seconds),
                id=renewal_id(inp.website_id), parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=workflow.info().typed_search_attributes)
            self._renewal_started = True
        except WorkflowAlreadyStartedError:
            pass  # the site's renewal already runs (the website was provisioned before)

    async def _cancelled(self, inp: AddWebsiteInput) -> None:
        await self._clean_up(inp)
        await self._step(inp, CANCELLED, "cancelled; everything this run set up was removed")

    async def _clean_up(self, inp: AddWebsiteInput) -> None:
        """Remove what this run created: the edge routes (and certificates), the hosted zone."""
        if self._edges_configured:
            await workflow.execute_activity(
                "edge.remove_site", RemoveSiteInput(inp.domain), start_to_close_timeout=EDGE_CALL,
                retry_policy=REMOTE_RETRY)
        if self._zone_created:
            await workflow.execute_activity(
                "hosted_dns.delete_zone", DeleteZoneInput(self._zone_created),
                start_to_close_timeout=EDGE_CALL, retry_policy=REMOTE_RETRY)
        if self._renewal_started:
            await workflow.get_external_workflow_handle(renewal_id(inp.website_id)).cancel()

    async def _step(self, inp: AddWebsiteInput, step: str, reason: str = "") -> None:
        self._progress = Progress(step, reason)
        workflow.upsert_search_attributes([SA_STEP.value_set(step)])
        await workflow.execute_activity(
            "db.set_website_step", SetStepInput(inp.website_id, step, reason),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)

    @workflow.signal(name="check_now")
    async def check_now(self) -> None:
        """The customer says the name servers are changed: re-check the delegation at once."""
        self._check_requested = True
        if self._delegation is not None:
            await self._delegation.signal("check_now")

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._progress


def cancelled(exc: BaseException) -> bool:
    """Whether a failure chain ends in a cancellation."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, CancelledError):
            return True
        cause = cause.__cause__
    return False


def failure_reason(exc: BaseException) -> str:
    """The innermost message of a failure chain, which says what went wrong and what to do."""
    message = str(exc)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.message:
            message = cause.message
        elif not isinstance(cause, FailureError) and str(cause):
            message = str(cause)
        cause = cause.__cause__
    return message
