"""Test doubles and builders for the license workflows: a fake edge under the real activity name
(house style: a fake only as the same interface), a worker with the real license activities, and
a few licenses on websites that lapse at chosen times."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.edge import ApplySitesInput, ApplySitesOutput, EdgeSite
from activities.licensing import LicenseActivities
from schema import expiry
from schema import licenses as svc
from schema.models import License, LicenseEvent, Website
from schema.plans import PLANS
from tests.factories import World
from workflows.edge_reapply import EdgeReapplyWorkflow
from workflows.license_expiry import LicenseExpiryWorkflow


@dataclass
class FakeEdge:
    """``edge.apply_sites`` that records each batch instead of calling Caddy."""

    calls: list[list[EdgeSite]] = field(default_factory=list)

    @activity.defn(name="edge.apply_sites")
    async def apply_sites(self, inp: ApplySitesInput) -> ApplySitesOutput:
        self.calls.append(list(inp.sites))
        return ApplySitesOutput(["fake-edge"], len(inp.sites), 0)

    def last_plan(self) -> dict[str, str]:
        """domain -> the plan the edge serves it with now."""
        out: dict[str, str] = {}
        for batch in self.calls:
            out.update({s.domain: s.plan_code for s in batch})
        return out


@asynccontextmanager
async def license_worker(client: Client, task_queue: str, sessions: sessionmaker[Session],
                         edge: Any, acts: LicenseActivities | None = None) -> AsyncIterator[Worker]:
    acts = acts or LicenseActivities(sessions)
    with ThreadPoolExecutor(4) as pool:
        async with Worker(client, task_queue=task_queue,
                          workflows=[LicenseExpiryWorkflow, EdgeReapplyWorkflow],
                          activities=[acts.sweep_page, acts.edge_batch, acts.edge_fingerprint,
                                      edge.apply_sites],
                          activity_executor=pool) as worker:
            yield worker


def licensed_site(s: Session, w: World, code: str, ordered_at: datetime,
                  expires_at: datetime | None = None, auto_renew: bool = False,
                  on_site: bool = True) -> tuple[int, int | None, str]:
    """A license of ``code`` ordered at ``ordered_at`` (expiring at ``expires_at`` if given), on
    a new website with a known origin unless ``on_site`` is False: (license, website, domain)."""
    s.add(License(partner_id=w.partner_id, plan_code=code, slot=PLANS[code].slot.value,
                  status="active"))
    s.flush()
    lic = svc.distribute(s, w.partner_id, w.customer_id, code, ordered_at, "test")
    if expires_at is not None:
        lic.expires_at = expires_at
    lic.auto_renew = auto_renew
    domain = f"s{uuid.uuid4().hex[:10]}.test"
    if not on_site:
        return lic.id, None, domain
    if PLANS[code].slot.value == "backup":
        holder = licensed_site(s, w, "basic", ordered_at)
        svc.attach_backup(s, w.partner_id, holder[1] or 0, lic.id, ordered_at, "test")
        return lic.id, holder[1], holder[2]
    site = svc.add_website(s, w.partner_id, svc.NewWebsite(w.customer_id, domain, domain, "none",
                                                           lic.id), ordered_at, "test")
    site.origin_addresses = ["192.0.2.10"]
    return lic.id, site.id, domain


def outcome_events(sessions: sessionmaker[Session]) -> dict[int, list[LicenseEvent]]:
    """license id -> its expiry events (every outcome the sweep recorded)."""
    with sessions() as s:
        rows = s.scalars(select(LicenseEvent).where(LicenseEvent.kind.in_(expiry.OUTCOME_OF_EVENT))
                         .order_by(LicenseEvent.id)).all()
    out: dict[int, list[LicenseEvent]] = {}
    for e in rows:
        out.setdefault(e.license_id, []).append(e)
    return out


def security_plan(sessions: sessionmaker[Session], website_id: int) -> str:
    with sessions() as s:
        return str(s.scalar(select(License.plan_code).join(
            Website, Website.security_license_id == License.id).where(Website.id == website_id)))


def count_licenses(sessions: sessionmaker[Session], **where: Any) -> int:
    with sessions() as s:
        stmt = select(func.count()).select_from(License)
        for k, v in where.items():
            stmt = stmt.where(getattr(License, k) == v)
        return int(s.scalar(stmt) or 0)
