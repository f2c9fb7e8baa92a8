"""Pebble's hostile defaults, and the worker killed with SIGKILL while the CA validates.

One run: the real worker process (``worker.py``) provisions an Initiate DNS + Auto SSL site
against Pebble with its hostile defaults (random 0-15 s validation delay, 5 % of nonces
rejected); it is SIGKILLed while the certificate is being validated, started again, and the
site still ends Completed with exactly one certificate, installed once on each edge.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.edge import served_leaf_sha256
from schema.settings import Settings
from starter.stack.pebble import PebbleServer
from starter.temporal_client import with_codec
from starter.websites import check_name_servers_now, submit_website
from tests.fixtures.dns import DnsStack
from tests.fixtures.edges import EdgeStack
from tests.fixtures.sites import make_site_settings, settings_env
from tests.site_helpers import (
    certificate_count,
    customer_domain,
    new_customer,
    services,
    wait_step,
    website,
)
from workflows.add_website import COMPLETED, ISSUING, WAITING_NS, AddWebsiteWorkflow, workflow_id
from workflows.issue_certificate import IssueCertificateWorkflow

ROOT = Path(__file__).resolve().parents[2]


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if log.read_text().count("worker polling") >= 1 + log.read_text().count("SIGKILLED"):
            return proc
        time.sleep(0.1)
    raise AssertionError("worker did not start:\n" + log.read_text())


async def test_hostile_ca_and_sigkill_during_validation(
        temporal_env: WorkflowEnvironment, tmp_path: Path, pg_url: str, task_queue: str,
        site_sessions: sessionmaker[Session], dns_stack: DnsStack, hostile_pebble: PebbleServer,
        edge_stack: EdgeStack) -> None:
    target = temporal_env.client.service_client.config.target_host
    settings = make_site_settings(tmp_path, pg_url, target, task_queue, dns_stack, hostile_pebble,
                                  edge_stack)
    client = with_codec(temporal_env.client, settings)
    cust = new_customer(site_sessions)
    domain = customer_domain(dns_stack)
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log)
    try:
        svc = services(site_sessions, client, settings)
        sub = await submit_website(svc, cust.partner_id, cust.email, domain, cust.license_id,
                                   "import-ssl", "tester")
        handle = client.get_workflow_handle_for(AddWebsiteWorkflow.run, sub.workflow_id)
        await wait_step(handle, WAITING_NS)
        dns_stack.flip(f"{domain}.")
        await check_name_servers_now(svc, cust.partner_id, sub.website_id)
        await wait_step(handle, ISSUING)
        child = client.get_workflow_handle(f"{workflow_id(sub.website_id)}-certificate-1")
        stage, deadline = "", time.monotonic() + 60
        while stage not in ("validating", "finalizing", "storing", "issued") \
                and time.monotonic() < deadline:
            try:
                stage = await child.query(IssueCertificateWorkflow.stage)
            except RPCError as exc:  # the parent shows the step just before it starts the child
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.05)
        worker.kill()  # SIGKILL: no graceful shutdown, activities in flight are lost
        worker.wait(10)
        with open(log, "a") as out:
            out.write(f"\nSIGKILLED at stage {stage}\n")
        killed_at = time.monotonic()
        worker = start_worker(settings, log)
        out = await asyncio.wait_for(handle.result(), timeout=180)
        print(f"killed at stage {stage!r}; done {time.monotonic() - killed_at:.1f} s later")
    finally:
        worker.kill()
        worker.wait(10)
    assert out.certificate_id is not None
    assert certificate_count(site_sessions, sub.website_id) == 1
    assert website(site_sessions, sub.website_id).step == COMPLETED
    from schema.models import Certificate

    with site_sessions() as s:
        cert = s.get(Certificate, out.certificate_id)
        assert cert is not None
    for edge in edge_stack.edges:
        loaded = httpx.get(f"{edge.admin_url}/config/apps/tls/certificates/load_pem").json()
        mine = [c for c in loaded if domain in (c.get("tags") or [])]
        assert len(mine) == 1 and mine[0]["@id"] == f"cert-{domain}"
        assert await served_leaf_sha256("127.0.0.1", edge.https_port, domain) == cert.sha256
