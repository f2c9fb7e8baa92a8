"""RenewCertificate: keep one website's certificate fresh, for as long as the website exists.

Started by Add Website once the first certificate is installed (id ``website-<id>-renewal``; it
outlives its parent). It sleeps until the renewal time, the earlier of two thirds of the
certificate's lifetime and 30 days before it expires, then runs IssueCertificate, installs the
new certificate on every edge (replacing the old one by its @id) and verifies it, and continues
as new with the new certificate's dates. A failed renewal is retried every few hours while the
current certificate is still valid. A removed website ends the workflow; so does a cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.db import WebsiteInfo, WebsiteRef
    from workflows.issue_certificate import (
        IssueCertificateInput,
        IssueCertificateOutput,
        IssueCertificateWorkflow,
        install_everywhere,
    )
    from workflows.shared import DB_RETRY, DB_TIMEOUT

BEFORE_EXPIRY = timedelta(days=30)
RETRY_AFTER_FAILURE = timedelta(hours=6)


def renewal_time(not_before: datetime, not_after: datetime) -> datetime:
    """Two thirds into the lifetime, or 30 days before expiry, whichever is earlier."""
    return min(not_before + (not_after - not_before) * 2 / 3, not_after - BEFORE_EXPIRY)


@dataclass(frozen=True)
class RenewCertificateInput:
    website_id: int
    domain: str  # ASCII
    zone: str  # the hosted zone (absolute ASCII)
    names: list[str]
    not_before: str  # ISO 8601, of the certificate installed now
    not_after: str
    dns_wait_seconds: float = 600.0
    renewals: int = 0  # how many renewals so far (names the child workflows)


@dataclass(frozen=True)
class RenewCertificateOutput:
    renewals: int
    reason: str  # why it ended


@workflow.defn(name="RenewCertificate")
class RenewCertificateWorkflow:
    """Sleeps until the renewal time, re-issues, re-installs everywhere, continues as new."""

    def __init__(self) -> None:
        self._next: datetime | None = None

    @workflow.run
    async def run(self, inp: RenewCertificateInput) -> RenewCertificateOutput:
        self._next = renewal_time(datetime.fromisoformat(inp.not_before),
                                  datetime.fromisoformat(inp.not_after))
        while True:
            wait = self._next - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
            site: WebsiteInfo = await workflow.execute_activity(
                "db.get_website", WebsiteRef(inp.website_id), result_type=WebsiteInfo,
                start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
            if site.removed:
                return RenewCertificateOutput(inp.renewals, "the website was removed")
            attempt = inp.renewals + 1
            try:
                cert: IssueCertificateOutput = await workflow.execute_child_workflow(
                    IssueCertificateWorkflow.run,
                    IssueCertificateInput(inp.website_id, inp.zone, inp.names, inp.dns_wait_seconds),
                    id=f"website-{inp.website_id}-certificate-renewal-{attempt}-"
                       f"{workflow.now():%Y%m%d%H%M%S}",
                    search_attributes=workflow.info().typed_search_attributes)
                await install_everywhere(inp.domain, cert.certificate_id, cert.sha256)
            except FailureError as exc:
                workflow.logger.warning("renewal of %s failed, retrying later: %s", inp.domain, exc)
                self._next = workflow.now() + RETRY_AFTER_FAILURE
                continue
            workflow.continue_as_new(replace(inp, not_before=cert.not_before,
                                             not_after=cert.not_after, renewals=attempt))

    @workflow.query(name="next_renewal")
    def next_renewal(self) -> str:
        """When the next renewal runs (ISO 8601)."""
        return self._next.isoformat() if self._next else ""
