"""/api/v1/licenses and /api/v1/plans: list and show licenses (with the eligible upgrade targets),
upgrade, renew, and switch auto-renewal; the catalogue with what the partner's pool holds.

Changes go through ``starter.license_actions`` (they touch the edges and must survive a crash);
this module only reads and translates.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from schema import plans
from starter import queries
from starter.api.deps import ApiCaller, Db, Now, ServicesDep
from starter.api.schemas import (
    MAX_ID,
    AutoRenewIn,
    LicenseDetail,
    LicenseOut,
    PlanOut,
    UpgradeIn,
    UpgradeTarget,
)
from starter.api.views import license_out

router = APIRouter(tags=["licenses"])
LicenseId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/plans", response_model=list[PlanOut], summary="The plan catalogue and the pool")
def list_plans(caller: ApiCaller, session: Db) -> list[PlanOut]:
    pool = queries.pool_counts(session, caller.partner_id)
    return [PlanOut(code=p.code, name=p.name, kind=p.kind.value, slot=p.slot.value,
                    eligible_upgrades=list(p.upgrades), pool_available=pool.get(p.code, 0))
            for p in plans.PLANS.values()]


@router.get("/licenses", response_model=list[LicenseOut], summary="List licenses")
def list_licenses(
        caller: ApiCaller, session: Db, now: Now,
        customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        pool: Annotated[bool | None, Query(description="true: only the undistributed pool")] = None,
        plan_code: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]+$")] = None,
        after: Annotated[int, Query(ge=0, le=MAX_ID, description="keyset: the last id seen")] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[LicenseOut]:
    if customer_id is not None:
        queries.customer(session, caller.partner_id, customer_id)  # 404 for another partner's
    rows = queries.licenses(session, caller.partner_id, now, customer_id=customer_id, pool=pool,
                            plan_code=plan_code, after=after, limit=limit)
    return [license_out(r) for r in rows]


def license_detail(session: Db, partner_id: int, license_id: int, now: Now) -> LicenseDetail:
    r = queries.license_row(session, partner_id, license_id, now)
    avail = queries.upgrade_availability(session, partner_id, r.customer_id, r.eligible_upgrades, now)
    targets = [UpgradeTarget(code=c, name=plans.plan(c).name, available=avail.get(c, 0))
               for c in r.eligible_upgrades]
    return LicenseDetail(**license_out(r).model_dump(), upgrade_targets=targets)


@router.get("/licenses/{license_id}", response_model=LicenseDetail,
            summary="Show a license with its eligible upgrade targets")
def show_license(license_id: LicenseId, caller: ApiCaller, session: Db, now: Now) -> LicenseDetail:
    return license_detail(session, caller.partner_id, license_id, now)


@router.post("/licenses/{license_id}/upgrade", response_model=LicenseDetail,
             summary="Upgrade to an eligible plan; answers the new license")
async def upgrade(license_id: LicenseId, body: UpgradeIn, caller: ApiCaller, services: ServicesDep,
                  session: Db, now: Now) -> LicenseDetail:
    await run_in_threadpool(queries.license_row, session, caller.partner_id, license_id, now)
    from starter import license_actions

    new_id = await license_actions.upgrade_license(
        services, caller.partner_id, caller.actor, license_id, body.plan_code)
    return await run_in_threadpool(license_detail, session, caller.partner_id, new_id, now)


@router.post("/licenses/{license_id}/renew", response_model=LicenseDetail, summary="Renew by one term")
async def renew(license_id: LicenseId, caller: ApiCaller, services: ServicesDep, session: Db,
                now: Now) -> LicenseDetail:
    await run_in_threadpool(queries.license_row, session, caller.partner_id, license_id, now)
    from starter import license_actions

    await license_actions.renew_license(services, caller.partner_id, caller.actor, license_id)
    return await run_in_threadpool(license_detail, session, caller.partner_id, license_id, now)


@router.put("/licenses/{license_id}/auto-renew", response_model=LicenseDetail,
            summary="Switch auto-renewal on or off")
async def auto_renew(license_id: LicenseId, body: AutoRenewIn, caller: ApiCaller,
                     services: ServicesDep, session: Db, now: Now) -> LicenseDetail:
    await run_in_threadpool(queries.license_row, session, caller.partner_id, license_id, now)
    from starter import license_actions

    await license_actions.set_auto_renew(services, caller.partner_id, caller.actor, license_id,
                                         body.enabled)
    return await run_in_threadpool(license_detail, session, caller.partner_id, license_id, now)
