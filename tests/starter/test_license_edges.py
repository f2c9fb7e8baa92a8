"""Plan changes reach real Caddy edges: an upgrade turns the WAF on for visitors, and the expiry
sweep that drops the site to Basic turns it off again (real Temporal dev server, real
EdgeActivities, two Caddy edges and the demo origin; SQLite and PostgreSQL)."""

from __future__ import annotations

import http.client
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.db import CertificateStore
from activities.edge import EdgeActivities
from activities.licensing import LicenseActivities
from schema.models import License, Website
from schema.settings import Settings, get_settings
from starter import license_actions as la
from starter.expiry_schedule import start_sweep_now
from starter.services import Services
from starter.temporal_client import with_codec
from tests.certs import secret_box
from tests.factories import make_world
from tests.fixtures.edges import EdgeStack
from tests.workflows.license_helpers import licensed_site
from workflows.edge_reapply import EdgeReapplyResult, EdgeReapplyWorkflow
from workflows.license_expiry import LicenseExpiryInput, LicenseExpiryWorkflow

SQL_INJECTION = "/products?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"


def visit(port: int, host: str, target: str) -> tuple[int, str]:
    """A visitor's plain-HTTP request through an edge: (status, plan header)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", target, headers={"Host": host})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("X-Edgeward-Plan") or ""
    finally:
        conn.close()


@pytest.fixture
async def worker(temporal_env: WorkflowEnvironment, edge_stack: EdgeStack, sessions: sessionmaker[Session],
                 task_queue: str) -> AsyncIterator[Client]:
    client = with_codec(temporal_env.client, get_settings())
    lic = LicenseActivities(sessions)
    async with httpx.AsyncClient() as http_client:
        edges = EdgeActivities(http_client, edge_stack.nodes, CertificateStore(sessions, secret_box()),
                               edge_stack.origin.port)
        with ThreadPoolExecutor(4) as pool:
            async with Worker(client, task_queue=task_queue,
                              workflows=[LicenseExpiryWorkflow, EdgeReapplyWorkflow],
                              activities=[lic.sweep_page, lic.edge_batch, lic.edge_fingerprint,
                                          edges.apply_sites],
                              activity_executor=pool):
                yield client


async def test_upgrade_turns_the_waf_on_and_the_drop_to_basic_turns_it_off(
        worker: Client, edge_stack: EdgeStack, sessions: sessionmaker[Session], task_queue: str) -> None:
    now = datetime.now(UTC)
    services = Services(sessions, worker, Settings(temporal_task_queue=task_queue))
    with sessions.begin() as s:
        w = make_world(s, {"waf_starter": 1})
        basic_id, site_id, domain = licensed_site(s, w, "basic", now - timedelta(days=400))
    # Put the site on the edges as provisioning would (origin 127.0.0.1: the demo origin).
    with sessions.begin() as s:
        s.get_one(Website, site_id).origin_addresses = ["127.0.0.1"]
    wid = await la.reapply_edges(services, [site_id], "provisioned")
    await worker.get_workflow_handle(wid, result_type=EdgeReapplyResult).result()
    for edge in edge_stack.edges:
        assert visit(edge.http_port, domain, SQL_INJECTION) == (200, "basic")

    new_id = await la.upgrade_license(services, w.partner_id, "alice@partner", basic_id, "waf_starter")
    await worker.get_workflow_handle(f"license-upgrade-{basic_id}",
                                     result_type=EdgeReapplyResult).result()
    for edge in edge_stack.edges:
        assert visit(edge.http_port, domain, SQL_INJECTION) == (403, "")
        assert visit(edge.http_port, f"www.{domain}", "/products?id=42") == (200, "waf_starter")

    with sessions.begin() as s:  # a year later, without auto-renewal
        s.get_one(License, new_id).expires_at = now - timedelta(minutes=5)
    handle = await start_sweep_now(worker, services.settings, LicenseExpiryInput(as_of=now),
                                   workflow_id=f"license-expiry-edges-{task_queue}")
    result = await handle.result()
    assert result.counts == {"expire_drop_to_basic": 1} and result.sites_reapplied == 1
    for edge in edge_stack.edges:
        assert visit(edge.http_port, domain, SQL_INJECTION) == (200, "basic")
