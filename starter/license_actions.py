"""License changes as the portal, the API and the CLI make them.

How the work is split: the database change runs here, in one transaction through
``schema.licenses`` (so bad input raises its clear ``LicenseError`` at once and nothing is
stored half-changed); when the change alters a live website's security plan (an upgrade of the
license on a site, a renewal that puts a dropped license back), an ``EdgeReapply`` workflow is
then started to bring the edges in line, because that touches outside systems and must survive
a crash. Its id is derived from the change, so a double submit starts it once. Backup licenses
and auto-renewal have no edge features: they are database changes only.

Every function takes ``services`` (sessions, Temporal client, settings), the ``partner_id``
whose data it acts on (another partner's ids are not found), the ``actor`` recorded on the
license events (a user's e-mail, ``api:<key prefix>``, ``cli:<user>``) and an optional ``now``.

- ``upgrade_license(services, partner_id, actor, license_id, plan_code) -> int``: the id of the
  new license (the old one is Upgraded; on a site the new one takes its place).
- ``renew_license(services, partner_id, actor, license_id) -> int``: the license id.
- ``set_auto_renew(services, partner_id, actor, license_id, enabled) -> int``: the license id.
- ``attach_backup_license(services, partner_id, actor, website_id, license_id) -> int``: the
  license id.
- ``distribute_license(services, partner_id, actor, customer_id, plan_code) -> int``: the id of
  the license taken from the pool.
- ``reapply_edges(services, website_ids, reason, workflow_id=None) -> str``: start the re-apply
  by hand (e.g. after Temporal was unreachable); returns the workflow id.

Raises ``schema.licenses.LicenseError`` subclasses (``code`` attribute: not_found,
not_eligible, no_license_available, license_in_use, license_expired, wrong_plan_kind) and
``schema.plans.UnknownPlan``; ``EdgeUpdateNotStarted`` when the database change is done but
Temporal could not be reached (the message says how to finish it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.orm import Session
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from schema import licenses as svc
from schema import plans
from schema.expiry import begin_write
from schema.models import License, Website
from starter.services import Services
from workflows.edge_reapply import EdgeReapplyInput, EdgeReapplyWorkflow
from workflows.shared import SA_CUSTOMER, SA_DOMAIN, SA_PARTNER

T = TypeVar("T")


class EdgeUpdateNotStarted(RuntimeError):
    """The license changed, but the workflow that updates the edges could not be started."""


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


async def _in_transaction(services: Services, change: Callable[[Session], T]) -> T:
    """Run ``change`` in one write transaction on a worker thread (the DB driver blocks)."""
    def run() -> T:
        with services.sessions.begin() as session:
            begin_write(session)
            return change(session)
    return await asyncio.to_thread(run)


def _site_on_edge(session: Session, lic: License) -> Website | None:
    """The live website whose security plan is ``lic``'s, if any."""
    if plans.plan(lic.plan_code).slot is not plans.Slot.SECURITY:
        return None
    site = svc.website_of(session, lic)
    return site if site is not None and site.removed_at is None else None


async def reapply_edges(services: Services, website_ids: list[int], reason: str,
                        workflow_id: str | None = None,
                        search: TypedSearchAttributes | None = None) -> str:
    """Start ``EdgeReapply`` for these websites; an already running one with the id is kept."""
    wid = workflow_id or f"edge-reapply-{'-'.join(map(str, website_ids[:5]))}-{_now(None):%Y%m%dT%H%M%S%f}"
    try:
        await services.temporal.start_workflow(
            EdgeReapplyWorkflow.run, EdgeReapplyInput(website_ids, reason), id=wid,
            task_queue=services.settings.temporal_task_queue,
            search_attributes=search or TypedSearchAttributes.empty)
    except WorkflowAlreadyStartedError:
        pass
    return wid


async def _reapply_site(services: Services, partner_id: int, site: tuple[int, int, str], reason: str,
                        workflow_id: str) -> None:
    website_id, customer_id, domain = site
    search = TypedSearchAttributes([SearchAttributePair(SA_PARTNER, str(partner_id)),
                                    SearchAttributePair(SA_CUSTOMER, str(customer_id)),
                                    SearchAttributePair(SA_DOMAIN, domain)])
    try:
        await reapply_edges(services, [website_id], reason, workflow_id, search)
    except RPCError as exc:  # Temporal down or refusing
        raise EdgeUpdateNotStarted(
            f"{reason} is saved, but the edge update could not be started ({exc}); run "
            f"`edgeward licenses reapply --website {website_id}` once Temporal is reachable") from exc


async def upgrade_license(services: Services, partner_id: int, actor: str, license_id: int,
                          plan_code: str, *, now: datetime | None = None) -> int:
    """Upgrade to an unused license of ``plan_code`` (the customer's, else from the pool)."""
    def change(session: Session) -> tuple[int, tuple[int, int, str] | None]:
        new = svc.upgrade(session, partner_id, license_id, plan_code, _now(now), actor)
        site = _site_on_edge(session, new)
        return new.id, (site.id, site.customer_id, site.domain_ascii) if site else None

    new_id, site = await _in_transaction(services, change)
    if site is not None:
        await _reapply_site(services, partner_id, site,
                            f"license {license_id} upgraded to {plans.plan(plan_code).name}",
                            f"license-upgrade-{license_id}")
    return new_id


async def renew_license(services: Services, partner_id: int, actor: str, license_id: int, *,
                        now: datetime | None = None) -> int:
    """Extend by one term; an expired license dropped from its site is put back on it."""
    def change(session: Session) -> tuple[datetime | None, tuple[int, int, str] | None]:
        before = svc.get_license(session, partner_id, license_id)
        was_on_site = _site_on_edge(session, before)
        lic = svc.renew(session, partner_id, license_id, _now(now), actor)
        site = _site_on_edge(session, lic)
        restored = site if site is not None and was_on_site is None else None
        return lic.expires_at, ((restored.id, restored.customer_id, restored.domain_ascii)
                                if restored else None)

    expires_at, restored = await _in_transaction(services, change)
    if restored is not None:
        assert expires_at is not None
        await _reapply_site(services, partner_id, restored,
                            f"license {license_id} renewed and restored on its website",
                            f"license-restore-{license_id}-{expires_at:%Y%m%dT%H%M%S}")
    return license_id


async def set_auto_renew(services: Services, partner_id: int, actor: str, license_id: int,
                         enabled: bool, *, now: datetime | None = None) -> int:
    """Switch auto-renewal on or off (paid and backup licenses only)."""
    def change(session: Session) -> int:
        return svc.set_auto_renew(session, partner_id, license_id, enabled, _now(now), actor).id

    return await _in_transaction(services, change)


async def attach_backup_license(services: Services, partner_id: int, actor: str, website_id: int,
                                license_id: int, *, now: datetime | None = None) -> int:
    """Put an unused backup license of the site's customer on the site."""
    def change(session: Session) -> int:
        svc.attach_backup(session, partner_id, website_id, license_id, _now(now), actor)
        return license_id

    return await _in_transaction(services, change)


async def distribute_license(services: Services, partner_id: int, actor: str, customer_id: int,
                             plan_code: str, *, now: datetime | None = None) -> int:
    """Give the customer an unused license of ``plan_code`` from the partner's pool."""
    def change(session: Session) -> int:
        return svc.distribute(session, partner_id, customer_id, plan_code, _now(now), actor).id

    return await _in_transaction(services, change)
