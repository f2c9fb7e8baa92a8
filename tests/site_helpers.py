"""Helpers for the Add Website tests: a customer with a license and a domain on the old DNS host,
waiting for a step, reading what the edges serve."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle

from activities.hosted_dns import RRset
from schema.models import Certificate, Website
from schema.settings import Settings
from starter.services import Services
from starter.stack.pebble import PebbleServer
from tests import factories
from tests.fixtures.dns import DnsStack
from workflows.add_website import AddWebsiteWorkflow, Progress


@dataclass
class Customer:
    partner_id: int
    customer_id: int
    email: str
    license_id: int


def new_customer(sessions: sessionmaker[Session], plan: str = "pro") -> Customer:
    with sessions.begin() as s:
        world = factories.make_world(s)
        lic = factories.give(s, world, plan)
        email = f"owner-{uuid.uuid4().hex[:8]}@customer.example"
        from schema.models import Customer as Row

        s.get(Row, world.customer_id).email = email  # type: ignore[union-attr]
        return Customer(world.partner_id, world.customer_id, email, lic.id)


def customer_domain(dns_stack: DnsStack) -> str:
    """A domain served by the old host (apex A = the demo origin's address, www CNAME)."""
    zone = dns_stack.add_customer(lambda z: [RRset(z, "A", 300, ("127.0.0.1",)),
                                             RRset(f"www.{z}", "CNAME", 300, (z,)),
                                             RRset(z, "MX", 3600, (f"10 mail.{z}",))])
    return zone.rstrip(".")


async def wait_step(handle: WorkflowHandle, step: str, seconds: float = 60) -> Progress:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = await handle.query(AddWebsiteWorkflow.progress)
        if last.step == step:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"step {step!r} not reached in {seconds} s; last: {last}")


async def wait_db_step(sessions: sessionmaker[Session], website_id: int, step: str,
                       seconds: float = 30) -> Website:
    """The Site Provisioning column as the portal reads it, once it shows ``step`` (the
    workflow's query can answer a step a moment before its database write lands)."""
    deadline = time.monotonic() + seconds
    row = website(sessions, website_id)
    while row.step != step and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        row = website(sessions, website_id)
    return row


def website(sessions: sessionmaker[Session], website_id: int) -> Website:
    with sessions() as s:
        row = s.get(Website, website_id)
        assert row is not None
        return row


def certificate_count(sessions: sessionmaker[Session], website_id: int) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.website_id == website_id)) or 0)


def https_through_edge(domain: str, port: int, pebble: PebbleServer, folder: Path) -> str:
    """``curl --resolve <domain>:<port>:127.0.0.1 --cacert <Pebble root>`` as a visitor would."""
    root = folder / "pebble-root.pem"
    root.write_text(pebble.root_pem())
    out = subprocess.run(["curl", "-sS", "--max-time", "10", "--resolve", f"{domain}:{port}:127.0.0.1",
                          "--cacert", str(root), f"https://{domain}:{port}/"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def http_through_edge(domain: str, port: int) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": domain}, timeout=10)


def services(sessions: sessionmaker[Session], client: Client, settings: Settings) -> Services:
    return Services(sessions=sessions, temporal=client, settings=settings)
