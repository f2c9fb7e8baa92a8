"""IssueCertificate: one certificate over ACME DNS-01 for a website, stored with its key sealed.

Add Website runs it as a child (step "Issuing certificate"), and so does every renewal. Each
step is its own activity, so each retries alone: the order (new key), the challenge records in
our hosted DNS, the wait until every one of our name servers answers them, the answer to the
CA, the wait for validation, the finalization (chain verified against the CA root), the store.
The challenge values are withdrawn at the end, whether it succeeded, failed or was cancelled.

``install_everywhere`` (used by Add Website and the renewal) loads a stored certificate on every
edge in parallel and verifies each by a TLS handshake with SNI.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.acme import (
        AnswerChallengesInput,
        ChallengeRecordsInput,
        FinalizeInput,
        FinalizeOutput,
        NewOrderInput,
        NewOrderOutput,
        WaitOrderInput,
        WaitPublishedInput,
    )
    from activities.db import CertificateInfo, StoreCertificateInput
    from activities.edge import (
        EdgeInventory,
        InstallCertificateInput,
        VerifyCertificateInput,
    )
    from workflows.shared import DB_RETRY, DB_TIMEOUT, REMOTE_RETRY

ACME_CALL = timedelta(minutes=2)  # one request or a few to the CA or the DNS API
ACME_HEARTBEAT = timedelta(seconds=10)  # the waiting activities heartbeat at least every 2 s
EDGE_CALL = timedelta(minutes=1)
DNS_WAIT = timedelta(minutes=10)  # until every name server answers the challenge values
ORDER_WAIT = timedelta(minutes=10)  # until the CA has validated (Pebble's hostile delay: 15 s)
FINALIZE_WAIT = timedelta(minutes=5)


@dataclass(frozen=True)
class IssueCertificateInput:
    website_id: int
    zone: str  # the customer's zone on our hosted DNS (absolute ASCII)
    names: list[str]  # ASCII; the domain, then www.<domain> where it exists
    dns_wait_seconds: float = DNS_WAIT.total_seconds()
    order_wait_seconds: float = ORDER_WAIT.total_seconds()


@dataclass(frozen=True)
class IssueCertificateOutput:
    """The stored certificate. Dates are ISO 8601 strings: a ``datetime`` field declared in a
    sandboxed workflow module does not convert (the sandbox has its own ``datetime`` class)."""

    certificate_id: int
    sha256: str
    not_before: str
    not_after: str


@workflow.defn(name="IssueCertificate")
class IssueCertificateWorkflow:
    """Order, prove control over DNS-01, finalize, store: one new certificate."""

    def __init__(self) -> None:
        self._stage = "ordering"

    @workflow.run
    async def run(self, inp: IssueCertificateInput) -> IssueCertificateOutput:
        order: NewOrderOutput = await workflow.execute_activity(
            "acme.new_order", NewOrderInput(inp.website_id, inp.names), result_type=NewOrderOutput,
            start_to_close_timeout=ACME_CALL, retry_policy=REMOTE_RETRY)
        values = order.txt_values
        try:
            if order.challenges:
                await self._prove(inp, order)
            self._stage = "validating"
            await workflow.execute_activity(
                "acme.wait_order_ready", WaitOrderInput(order.order_url, inp.order_wait_seconds),
                start_to_close_timeout=timedelta(seconds=inp.order_wait_seconds) + ACME_CALL,
                heartbeat_timeout=ACME_HEARTBEAT, retry_policy=REMOTE_RETRY)
            self._stage = "finalizing"
            done: FinalizeOutput = await workflow.execute_activity(
                "acme.finalize", FinalizeInput(inp.website_id, order.order_url, order.key_sealed,
                                               inp.names, FINALIZE_WAIT.total_seconds()),
                result_type=FinalizeOutput, start_to_close_timeout=FINALIZE_WAIT + ACME_CALL,
                heartbeat_timeout=ACME_HEARTBEAT, retry_policy=REMOTE_RETRY)
            self._stage = "storing"
            info: CertificateInfo = await workflow.execute_activity(
                "db.store_certificate", StoreCertificateInput(inp.website_id, done.fullchain_pem,
                                                              order.key_sealed),
                result_type=CertificateInfo, start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY)
        finally:
            if values:
                # Runs on success, failure and cancellation alike (after a cancellation the
                # workflow may still run activities).
                await workflow.execute_activity(
                    "acme.withdraw_challenges", ChallengeRecordsInput(inp.zone, values),
                    start_to_close_timeout=ACME_CALL, retry_policy=REMOTE_RETRY)
        self._stage = "issued"
        return IssueCertificateOutput(info.certificate_id, info.sha256, info.not_before.isoformat(),
                                      info.not_after.isoformat())

    async def _prove(self, inp: IssueCertificateInput, order: NewOrderOutput) -> None:
        values = order.txt_values
        self._stage = "publishing"
        await workflow.execute_activity(
            "acme.publish_challenges", ChallengeRecordsInput(inp.zone, values),
            start_to_close_timeout=ACME_CALL, retry_policy=REMOTE_RETRY)
        self._stage = "waiting for our name servers"
        await workflow.execute_activity(
            "acme.wait_challenges_published", WaitPublishedInput(values, inp.dns_wait_seconds),
            start_to_close_timeout=timedelta(seconds=inp.dns_wait_seconds) + ACME_CALL,
            heartbeat_timeout=ACME_HEARTBEAT, retry_policy=REMOTE_RETRY)
        self._stage = "answering"
        await workflow.execute_activity(
            "acme.answer_challenges", AnswerChallengesInput(order.challenges),
            start_to_close_timeout=ACME_CALL, retry_policy=REMOTE_RETRY)

    @workflow.query(name="stage")
    def stage(self) -> str:
        return self._stage


async def install_everywhere(domain: str, certificate_id: int, sha256: str) -> list[str]:
    """Load the certificate on every edge in parallel, then verify each by a TLS handshake.
    Returns the edge names. For use inside a workflow."""
    edges: EdgeInventory = await workflow.execute_activity(
        "edge.list_edges", start_to_close_timeout=EDGE_CALL, retry_policy=REMOTE_RETRY,
        result_type=EdgeInventory)
    await asyncio.gather(*(workflow.execute_activity(
        "edge.install_certificate", InstallCertificateInput(name, domain, certificate_id),
        start_to_close_timeout=EDGE_CALL, retry_policy=REMOTE_RETRY) for name in edges.names))
    await asyncio.gather(*(workflow.execute_activity(
        "edge.verify_certificate", VerifyCertificateInput(name, domain, sha256),
        start_to_close_timeout=EDGE_CALL, retry_policy=REMOTE_RETRY) for name in edges.names))
    return list(edges.names)
