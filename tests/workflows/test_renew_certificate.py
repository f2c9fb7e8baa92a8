"""Certificate renewal on the time-skipping server, with the real CA, DNS and edges."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.db import CertificateStore, StoreCertificateInput, key_context
from activities.edge import served_leaf_sha256
from schema import licenses
from schema.models import utcnow
from starter.commands.workflow import history_to_json
from starter.stack.pebble import PebbleServer
from tests.certs import secret_box, self_signed
from tests.fixtures.dns import DnsStack
from tests.fixtures.edges import EdgeStack
from tests.fixtures.sites import make_site_settings, website_worker
from tests.fixtures.temporal import HISTORY_DIR
from tests.site_helpers import certificate_count, new_customer
from workflows.issue_certificate import install_everywhere  # noqa: F401 - the code under test
from workflows.renew_certificate import (
    RenewCertificateInput,
    RenewCertificateWorkflow,
    renewal_time,
)


def test_renewal_time_is_two_thirds_or_30_days_before_expiry() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # 90 days: two thirds (day 60) and 30 days before expiry (day 60) agree.
    assert renewal_time(start, start + timedelta(days=90)) == start + timedelta(days=60)
    # 1 year: 30 days before expiry comes later than two thirds (day 243.3): two thirds wins.
    assert renewal_time(start, start + timedelta(days=365)) == start + timedelta(days=365) * 2 / 3
    # 60 days: 30 days before expiry (day 30) is earlier than two thirds (day 40).
    assert renewal_time(start, start + timedelta(days=60)) == start + timedelta(days=30)


async def skip_time(env: WorkflowEnvironment, duration: timedelta) -> None:
    """``env.sleep`` with an explicit RPC deadline (the default one is short)."""
    req = SleepRequest()
    req.duration.FromTimedelta(duration)
    await env.client.test_service.unlock_time_skipping_with_sleep(req, timeout=timedelta(minutes=3))


async def test_certificate_renewed_and_reinstalled_on_every_edge(
        time_skipping_env: WorkflowEnvironment, tmp_path: Path, pg_url: str,
        site_sessions: sessionmaker[Session], task_queue: str, dns_stack: DnsStack,
        pebble: PebbleServer, edge_stack: EdgeStack) -> None:
    settings = make_site_settings(tmp_path, pg_url, "unused:0", task_queue, dns_stack, pebble,
                                  edge_stack)
    cust = new_customer(site_sessions)
    zone = dns_stack.client(dns_stack.hosted)
    domain = f"renew{time.time_ns() % 10**9}.test"
    zone.ensure_zone(f"{domain}.", dns_stack.nameservers)
    with site_sessions.begin() as s:
        site_id = licenses.add_website(s, cust.partner_id, licenses.NewWebsite(
            cust.customer_id, domain, domain, "import_ssl", cust.license_id), utcnow(), "t").id
    chain, key = self_signed(domain, days=90)
    first = CertificateStore(site_sessions, secret_box()).store(StoreCertificateInput(
        site_id, chain, secret_box().seal(key.encode(), key_context(site_id))))
    async with website_worker(time_skipping_env, settings) as client:
        handle = await client.start_workflow(
            RenewCertificateWorkflow.run,
            RenewCertificateInput(site_id, domain, f"{domain}.", [domain, f"www.{domain}"],
                                  first.not_before.isoformat(), first.not_after.isoformat()),
            id=f"website-{site_id}-renewal", task_queue=task_queue)
        planned = datetime.fromisoformat(await handle.query(RenewCertificateWorkflow.next_renewal))
        assert planned == renewal_time(first.not_before, first.not_after)
        assert planned - first.not_before > timedelta(days=59)
        # Skip to just past the planned renewal (60 days pass in an instant). The renewal's
        # activities then run in real time inside the call, so give the call room on a busy machine.
        now = await time_skipping_env.get_current_time()
        await skip_time(time_skipping_env, planned - now + timedelta(minutes=1))
        deadline = time.monotonic() + 60
        while certificate_count(site_sessions, site_id) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert certificate_count(site_sessions, site_id) == 2
        with site_sessions() as s:
            from sqlalchemy import select

            from schema.models import Certificate

            newest = s.scalars(select(Certificate).where(Certificate.website_id == site_id)
                               .order_by(Certificate.id.desc())).first()
            assert newest is not None and newest.sha256 != first.sha256
        served: list[str] = []
        while time.monotonic() < deadline:
            served = [await served_leaf_sha256("127.0.0.1", e.https_port, domain)
                      for e in edge_stack.edges]
            if served == [newest.sha256] * len(edge_stack.edges):
                break
            await asyncio.sleep(0.2)
        assert served == [newest.sha256] * len(edge_stack.edges)  # re-installed on every edge
        # It continued as new, planning the next renewal from the new certificate's dates.
        expected = renewal_time(newest.not_before, newest.not_after)
        later, deadline = None, time.monotonic() + 60
        while later != expected and time.monotonic() < deadline:  # the new run may lag a moment
            try:
                later = datetime.fromisoformat(
                    await handle.query(RenewCertificateWorkflow.next_renewal,
                                       rpc_timeout=timedelta(seconds=10)))
            except RPCError as exc:  # its first workflow task not yet done on a busy machine
                if exc.status != RPCStatusCode.DEADLINE_EXCEEDED:
                    raise
            if later != expected:
                await asyncio.sleep(0.2)
        assert later == expected
        await handle.cancel()
        if os.environ.get("EDGEWARD_RECORD_HISTORIES") == "1":  # the run that continued as new
            first_run = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
            history = await first_run.fetch_history()
            (HISTORY_DIR / "RenewCertificate.json").write_text(history_to_json(history))
