"""DnsImport: read a domain's current records and serve them from our hosted DNS.

Add Website step 2 (Initiate DNS): ``dns_import.read_zone`` finds the domain's current servers
through the parent delegation and reads the zone (AXFR, else a scan); ``hosted_dns.import_zone``
creates the hosted zone with those records, apex and ``www`` pointed at the edge. The result
carries the origin (the original web addresses) for the edge, our name servers for the customer,
and the readiness report. Run it as a child workflow (``DnsImportWorkflow.run``) or alone
(``edgeward dns import <domain>``); workflow id ``dns-import-<ascii domain>`` by convention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.dns_import import ReadinessReport, ReadZoneInput, ReadZoneOutput
    from activities.dns_records import RRset
    from activities.hosted_dns import ImportZoneInput, ImportZoneOutput
    from workflows.shared import REMOTE_RETRY

READ_TIMEOUT = timedelta(minutes=10)  # a scan is a few hundred queries; an AXFR can be large
IMPORT_TIMEOUT = timedelta(minutes=10)  # thousands of records go in batched PATCHes
HEARTBEAT = timedelta(minutes=2)


@dataclass(frozen=True)
class DnsImportInput:
    """The domain whose records to import, Unicode or ASCII (``café.test``)."""

    domain: str


@dataclass(frozen=True)
class DnsImportOutput:
    """The hosted zone as imported.

    ``origin_addresses`` are the site's original web addresses (the edge's upstream; empty when
    the zone had none: ask the user). ``nameservers`` are ours, for the customer to set at the
    registrar. ``readiness`` lists what may break the switch (``readiness.blocking()``).
    """

    zone: str  # absolute ASCII, e.g. "xn--caf-dma.test."
    method: str  # "axfr" or "scan"
    source_nameservers: tuple[str, ...]  # the old host's servers
    nameservers: tuple[str, ...]
    origin_addresses: tuple[str, ...]
    records: tuple[RRset, ...] = ()  # what our hosted DNS now serves (apex SOA/NS excluded)
    readiness: ReadinessReport = field(default_factory=ReadinessReport)
    created: bool = True  # False when the hosted zone already existed (re-import)


@workflow.defn(name="DnsImport")
class DnsImportWorkflow:
    """Read the current zone, then create it in our hosted DNS. Both steps are idempotent, so a
    re-run (or a re-import later) leaves the same hosted zone."""

    def __init__(self) -> None:
        self._step = "reading"

    @workflow.run
    async def run(self, inp: DnsImportInput) -> DnsImportOutput:
        read: ReadZoneOutput = await workflow.execute_activity(
            "dns_import.read_zone", ReadZoneInput(inp.domain), result_type=ReadZoneOutput,
            start_to_close_timeout=READ_TIMEOUT, heartbeat_timeout=HEARTBEAT,
            retry_policy=REMOTE_RETRY)
        self._step = "importing"
        imported: ImportZoneOutput = await workflow.execute_activity(
            "hosted_dns.import_zone", ImportZoneInput(read.zone, read.rrsets),
            result_type=ImportZoneOutput, start_to_close_timeout=IMPORT_TIMEOUT,
            heartbeat_timeout=HEARTBEAT, retry_policy=REMOTE_RETRY)
        self._step = "imported"
        return DnsImportOutput(read.zone, read.method, read.source_nameservers,
                               imported.nameservers, imported.origin_addresses, imported.rrsets,
                               read.readiness, imported.created)

    @workflow.query(name="step")
    def step(self) -> str:
        """reading, importing or imported."""
        return self._step
