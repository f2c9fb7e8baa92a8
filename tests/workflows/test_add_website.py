"""Add Website end to end on the real stack: Temporal dev server, PowerDNS, Pebble, Caddy."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from google.protobuf.message import Message
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.db import CertificateStore
from activities.edge import served_leaf_sha256
from schema import licenses
from schema.models import utcnow
from schema.settings import Settings
from starter.stack.pebble import PebbleServer
from starter.websites import cancel_website, check_name_servers_now, submit_website
from tests.certs import secret_box
from tests.fixtures.dns import DnsStack
from tests.fixtures.edges import EdgeStack
from tests.fixtures.sites import website_worker
from tests.site_helpers import (
    certificate_count,
    customer_domain,
    http_through_edge,
    https_through_edge,
    new_customer,
    services,
    wait_db_step,
    wait_step,
    website,
)
from workflows.add_website import (
    CANCELLED,
    COMPLETED,
    FAILED,
    WAITING_NS,
    AddWebsiteInput,
    AddWebsiteWorkflow,
    workflow_id,
)


async def test_initiate_dns_and_auto_ssl(temporal_env: WorkflowEnvironment, site_settings: Settings,
                                         site_sessions: sessionmaker[Session], dns_stack: DnsStack,
                                         edge_stack: EdgeStack, pebble: PebbleServer,
                                         tmp_path: Path) -> None:
    cust = new_customer(site_sessions)
    domain = customer_domain(dns_stack)
    async with website_worker(temporal_env, site_settings) as client:
        svc = services(site_sessions, client, site_settings)
        sub = await submit_website(svc, cust.partner_id, cust.email, domain.upper(), cust.license_id,
                                   "import-ssl", "tester@partner.example")
        assert sub.workflow_id == workflow_id(sub.website_id) and sub.started
        handle = client.get_workflow_handle_for(AddWebsiteWorkflow.run, sub.workflow_id)
        waiting = await wait_step(handle, WAITING_NS)
        assert "ns1.edgeward.net." in waiting.reason  # what the customer must change
        assert (await wait_db_step(site_sessions, sub.website_id, WAITING_NS)).step == WAITING_NS
        # The edge already knows the site (plain HTTP) before the name servers change.
        assert "Welcome to " + domain in http_through_edge(domain, edge_stack.edges[0].http_port).text
        dns_stack.flip(f"{domain}.")
        await check_name_servers_now(svc, cust.partner_id, sub.website_id)
        out = await handle.result()
    row = website(site_sessions, sub.website_id)
    assert row.step == COMPLETED and row.origin_addresses == ["127.0.0.1"]
    assert out.certificate_id is not None and certificate_count(site_sessions, sub.website_id) == 1
    from schema.models import Certificate

    with site_sessions() as s:
        cert = s.get(Certificate, out.certificate_id)
        assert cert is not None and sorted(cert.names) == sorted([domain, f"www.{domain}"])
        assert b"PRIVATE KEY" not in cert.key_encrypted  # sealed at rest
    for edge in edge_stack.edges:
        assert await served_leaf_sha256("127.0.0.1", edge.https_port, domain) == cert.sha256
        page = https_through_edge(domain, edge.https_port, pebble, tmp_path)
        assert f"Welcome to {domain}" in page
    # Temporal's history, read raw (without the codec): no key, no personal data in clear.
    raw = temporal_env.client
    ids = [sub.workflow_id] + [f"{sub.workflow_id}-{c}" for c in (
        "dns-import", "delegation-wait", "certificate-1", "renewal")]
    key_pem = CertificateStore(site_sessions, secret_box()).load(out.certificate_id).key_pem
    key_body = key_pem.splitlines()[1].encode()
    for wf_id in ids:
        history = await raw.get_workflow_handle(wf_id).fetch_history()
        blob = b"".join(e.SerializeToString() for e in history.events)
        for secret in (b"PRIVATE KEY", key_body, cust.email.encode(), b"tester@partner.example"):
            assert secret not in blob, (wf_id, secret)
        payloads = [p for e in history.events for p in _payloads(e)]
        assert payloads and all(p.metadata["encoding"] == b"binary/encrypted" for p in payloads)
    # Operations find the run in the Temporal UI by domain and step (visibility lags a moment).
    query = f'EdgewardDomain = "{domain}" AND EdgewardStep = "{COMPLETED}"'
    found: list[str] = []
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline:
        found = [w.id async for w in client.list_workflows(query)]
        if not found:
            await asyncio.sleep(0.2)
    assert found == [sub.workflow_id]
    # ... and every child of the run (import, delegation wait, certificate, renewal) by domain.
    children = {f"{sub.workflow_id}-{c}" for c in ("dns-import", "delegation-wait", "certificate-1",
                                                   "renewal")}
    seen: set[str] = set()
    while not children <= seen and time.monotonic() < deadline:
        seen = {w.id async for w in client.list_workflows(f'EdgewardDomain = "{domain}"')}
        if not children <= seen:
            await asyncio.sleep(0.2)
    assert children <= seen


@pytest.mark.parametrize("mode", ["import", "none"])
async def test_modes_without_auto_ssl(mode: str, temporal_env: WorkflowEnvironment,
                                      site_settings: Settings, site_sessions: sessionmaker[Session],
                                      dns_stack: DnsStack, edge_stack: EdgeStack) -> None:
    cust = new_customer(site_sessions, plan="waf_starter")
    domain = customer_domain(dns_stack)
    async with website_worker(temporal_env, site_settings) as client:
        svc = services(site_sessions, client, site_settings)
        sub = await submit_website(svc, cust.partner_id, cust.customer_id, domain, cust.license_id,
                                   mode, "tester")
        out = await client.get_workflow_handle_for(AddWebsiteWorkflow.run, sub.workflow_id).result()
    assert out.origins == ["127.0.0.1"]
    row = website(site_sessions, sub.website_id)
    assert row.step == COMPLETED
    hosted = dns_stack.client(dns_stack.hosted).get_zone(f"{domain}.")
    if mode == "import":
        assert out.nameservers and "name servers" in row.step_reason and hosted is not None
    else:
        assert "Point " in row.step_reason and hosted is None
    for edge in edge_stack.edges:
        assert "Welcome to www." + domain in http_through_edge(f"www.{domain}", edge.http_port).text
        attack = http_through_edge(domain, edge.http_port)  # ordinary request passes
        assert attack.status_code == 200
        blocked = httpx.get(f"http://127.0.0.1:{edge.http_port}/?id=1%27%20OR%201=1",
                            headers={"Host": domain})
        assert blocked.status_code == 403  # WAF Starter blocks SQL injection


async def test_double_submit_starts_one_workflow(temporal_env: WorkflowEnvironment,
                                                 site_settings: Settings,
                                                 site_sessions: sessionmaker[Session],
                                                 dns_stack: DnsStack) -> None:
    cust = new_customer(site_sessions)
    domain = customer_domain(dns_stack)
    async with website_worker(temporal_env, site_settings) as client:
        svc = services(site_sessions, client, site_settings)
        first = await submit_website(svc, cust.partner_id, cust.email, domain, cust.license_id,
                                     "none", "tester")
        second = await submit_website(svc, cust.partner_id, cust.email, domain, cust.license_id,
                                      "none", "tester")
        assert (second.website_id, second.workflow_id) == (first.website_id, first.workflow_id)
        assert first.started and not second.started
        await client.get_workflow_handle(first.workflow_id).result()
        third = await submit_website(svc, cust.partner_id, cust.email, domain, cust.license_id,
                                     "none", "tester")  # after completion: still nothing new
        assert not third.started
        runs = [w async for w in client.list_workflows(f'WorkflowId = "{first.workflow_id}"')]
        assert len(runs) <= 1
    with pytest.raises(licenses.LicenseError):  # the same license cannot take another domain
        other = customer_domain(dns_stack)
        await submit_website(svc, cust.partner_id, cust.email, other, cust.license_id, "none", "t")


async def test_txt_never_answered_fails_with_reason(temporal_env: WorkflowEnvironment,
                                                    site_settings: Settings,
                                                    site_sessions: sessionmaker[Session],
                                                    dns_stack: DnsStack) -> None:
    # A second authoritative server that never receives the record: the old host.
    old = dns_stack.oldhost.address
    settings = site_settings.model_copy(update={"acme_dns_check_servers": [
        f"127.0.0.1:{dns_stack.hosted.dns_port}", f"{old[0]}:{old[1]}"]})
    cust = new_customer(site_sessions)
    domain = customer_domain(dns_stack)
    with site_sessions.begin() as s:
        site = licenses.add_website(s, cust.partner_id, licenses.NewWebsite(
            cust.customer_id, domain, domain, "import_ssl", cust.license_id), utcnow(), "t")
        site_id = site.id
    async with website_worker(temporal_env, settings) as client:
        handle = await client.start_workflow(
            AddWebsiteWorkflow.run, AddWebsiteInput(site_id, cust.partner_id, cust.customer_id,
                                                    domain, "import_ssl", dns_wait_seconds=1.5),
            id=workflow_id(site_id), task_queue=settings.temporal_task_queue)
        await wait_step(handle, WAITING_NS)
        dns_stack.flip(f"{domain}.")
        await handle.signal(AddWebsiteWorkflow.check_now)
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert "never appeared" in str(err.value.cause)
    row = website(site_sessions, site_id)
    assert row.step == FAILED
    assert "never appeared" in row.step_reason and f"{old[0]}:{old[1]}" in row.step_reason
    assert "added again" in row.step_reason  # what the user can do
    assert certificate_count(site_sessions, site_id) == 0


async def test_cancel_cleans_up(temporal_env: WorkflowEnvironment, site_settings: Settings,
                                site_sessions: sessionmaker[Session], dns_stack: DnsStack,
                                edge_stack: EdgeStack) -> None:
    cust = new_customer(site_sessions)
    domain = customer_domain(dns_stack)
    async with website_worker(temporal_env, site_settings) as client:
        svc = services(site_sessions, client, site_settings)
        sub = await submit_website(svc, cust.partner_id, cust.email, domain, cust.license_id,
                                   "import_ssl", "tester")
        handle = client.get_workflow_handle_for(AddWebsiteWorkflow.run, sub.workflow_id)
        await wait_step(handle, WAITING_NS)
        assert dns_stack.client(dns_stack.hosted).get_zone(f"{domain}.") is not None
        await cancel_website(svc, cust.partner_id, sub.website_id)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        assert (await wait_step(handle, CANCELLED)).step == CANCELLED
    assert website(site_sessions, sub.website_id).step == CANCELLED
    assert dns_stack.client(dns_stack.hosted).get_zone(f"{domain}.") is None
    for edge in edge_stack.edges:
        assert http_through_edge(domain, edge.http_port).status_code == 404
    with pytest.raises(licenses.NotFound):  # another partner cannot cancel it
        await cancel_website(svc, cust.partner_id + 1000, sub.website_id)


def test_unknown_inputs_are_refused_before_anything_is_stored() -> None:
    from schema.domains import InvalidDomain
    from starter.websites import WebsiteError, check_origin, dns_mode_of

    with pytest.raises(WebsiteError, match="import-ssl"):
        dns_mode_of("ssl")
    with pytest.raises(WebsiteError, match="without http"):
        check_origin("http://origin.example/")
    assert check_origin("[2001:db8::1]") == "2001:db8::1"
    from schema.domains import normalize_domain

    with pytest.raises(InvalidDomain):
        normalize_domain(f"https://{uuid.uuid4().hex}.test/")


def _payloads(event: object) -> list[Payload]:
    """Every Payload inside a history event, except the search attributes (indexed in clear by
    design: partner id, customer id, domain, step)."""
    found: list[Payload] = []

    def walk(msg: Message) -> None:
        if isinstance(msg, Payload):
            found.append(msg)
            return
        for field, value in msg.ListFields():
            if field.name == "search_attributes":
                continue
            if isinstance(value, Message):
                walk(value)
            elif hasattr(value, "keys") and hasattr(value, "values"):
                found_items = list(value.values())
                for item in found_items:
                    if isinstance(item, Message):
                        walk(item)
            elif not isinstance(value, str | bytes | int | float | bool):
                for item in value:
                    if isinstance(item, Message):
                        walk(item)

    assert isinstance(event, Message)
    walk(event)
    return found
