"""/api/v1/websites: Add Website (starts the provisioning workflow, answers 202), show with the
Site Provisioning step and reason, check name servers now, cancel, attach a backup license, and
the backup schedule settings.

Provisioning and license changes go through ``starter.websites`` and ``starter.license_actions``;
the backup settings are our own data and are written here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from temporalio.service import RPCError, RPCStatusCode

from schema import licenses as svc
from schema.models import utcnow
from starter import queries
from starter.api.deps import ApiCaller, Db, ServicesDep
from starter.api.errors import ApiError
from starter.api.schemas import (
    MAX_ID,
    BackupLicenseIn,
    BackupSettings,
    WebsiteAccepted,
    WebsiteIn,
    WebsiteOut,
)
from starter.api.views import website_out
from starter.services import Services

router = APIRouter(prefix="/websites", tags=["websites"])
WebsiteId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _show(session: Session, services: Services, partner_id: int, website_id: int) -> WebsiteOut:
    session.expire_all()
    return website_out(session, services.settings, partner_id,
                       queries.website(session, partner_id, website_id))


@asynccontextmanager
async def workflow_running(domain: str, what: str) -> AsyncIterator[None]:
    """Temporal's answers about the provisioning run, as 4xx/503 with what to do."""
    try:
        yield
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(409, f"the provisioning of {domain} is not running (it finished, was "
                           f"cancelled or never started), so it cannot be {what}", "not_running") from None
        if exc.status == RPCStatusCode.UNAVAILABLE:
            raise ApiError(503, "the workflow service cannot be reached; try again in a minute",
                           "temporal_unavailable") from None
        raise


def _owned(session: Session, partner_id: int, customer_id: int, license_id: int) -> None:
    """404 unless both the customer and the license are the caller's."""
    svc.get_customer(session, partner_id, customer_id)
    svc.get_license(session, partner_id, license_id)


@router.post("", status_code=202, response_model=WebsiteAccepted,
             summary="Add a website: records it and starts its provisioning workflow")
async def add_website(body: WebsiteIn, caller: ApiCaller, services: ServicesDep,
                      session: Db) -> WebsiteAccepted:
    if body.origin and body.dns_mode != "none":
        raise ApiError(422, "an origin address is given only with dns_mode 'none' (No DNS); "
                       "Initiate DNS finds the origin from the imported records", "origin_not_allowed")
    await run_in_threadpool(_owned, session, caller.partner_id, body.customer_id, body.license_id)
    from starter import websites

    site = await websites.submit_website(
        services, caller.partner_id, customer=body.customer_id, domain=body.domain,
        license_id=body.license_id, dns_mode=body.dns_mode, actor=caller.actor, origin=body.origin)
    out = await run_in_threadpool(_show, session, services, caller.partner_id, site.website_id)
    return WebsiteAccepted(website=out, workflow_id=site.workflow_id)


@router.get("/{website_id}", response_model=WebsiteOut,
            summary="Show a website: provisioning step and reason, DNS to change, certificate")
def show_website(website_id: WebsiteId, caller: ApiCaller, services: ServicesDep,
                 session: Db) -> WebsiteOut:
    return _show(session, services, caller.partner_id, website_id)


@router.post("/{website_id}/check-name-servers", status_code=202, response_model=WebsiteOut,
             summary="Ask the provisioning workflow to check the delegation now")
async def check_name_servers(website_id: WebsiteId, caller: ApiCaller, services: ServicesDep,
                             session: Db) -> WebsiteOut:
    w = await run_in_threadpool(queries.website, session, caller.partner_id, website_id)
    from starter import websites

    async with workflow_running(w.domain, "checked now"):
        await websites.check_name_servers_now(services, caller.partner_id, website_id)
    return await run_in_threadpool(_show, session, services, caller.partner_id, website_id)


@router.post("/{website_id}/cancel", status_code=202, response_model=WebsiteOut,
             summary="Cancel the website's provisioning")
async def cancel(website_id: WebsiteId, caller: ApiCaller, services: ServicesDep,
                 session: Db) -> WebsiteOut:
    w = await run_in_threadpool(queries.website, session, caller.partner_id, website_id)
    from starter import websites

    async with workflow_running(w.domain, "cancelled"):
        await websites.cancel_website(services, caller.partner_id, website_id)
    return await run_in_threadpool(_show, session, services, caller.partner_id, website_id)


@router.post("/{website_id}/backup-license", response_model=WebsiteOut,
             summary="Attach an unused backup license of the customer to the website")
async def attach_backup_license(website_id: WebsiteId, body: BackupLicenseIn, caller: ApiCaller,
                                services: ServicesDep, session: Db) -> WebsiteOut:
    await run_in_threadpool(queries.website, session, caller.partner_id, website_id)
    await run_in_threadpool(svc.get_license, session, caller.partner_id, body.license_id)
    from starter import license_actions

    await license_actions.attach_backup_license(services, caller.partner_id, caller.actor,
                                                website_id, body.license_id)
    return await run_in_threadpool(_show, session, services, caller.partner_id, website_id)


@router.get("/{website_id}/backup-settings", response_model=BackupSettings,
            summary="The backup schedule of a website with a backup license")
def get_backup_settings(website_id: WebsiteId, caller: ApiCaller, session: Db) -> BackupSettings:
    w = queries.website(session, caller.partner_id, website_id)
    if w.backup_license_id is None:
        raise ApiError(409, f"{w.domain} has no backup license; attach one with "
                       "POST /api/v1/websites/{id}/backup-license first", "no_backup_license")
    return BackupSettings.model_validate(w.backup_settings or {})


def save_backup_settings(session: Session, partner_id: int, website_id: int,
                         body: BackupSettings) -> None:
    """Store the schedule (the portal's site page uses it too); the caller commits."""
    site = svc.get_website(session, partner_id, website_id)
    if site.backup_license_id is None:
        raise ApiError(409, f"{site.domain_unicode} has no backup license; attach a backup "
                       "license before setting a backup schedule", "no_backup_license")
    site.backup_settings = body.model_dump()
    site.updated_at = utcnow()


@router.put("/{website_id}/backup-settings", response_model=BackupSettings,
            summary="Set the backup schedule")
def put_backup_settings(website_id: WebsiteId, body: BackupSettings, caller: ApiCaller,
                        session: Db) -> BackupSettings:
    save_backup_settings(session, caller.partner_id, website_id, body)
    session.commit()
    return body
