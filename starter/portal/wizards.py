"""The portal's wizards: Add Website, Manage Backup License and Upgrade.

Each is one URL: GET shows the form; POST carries ``step``: ``next`` validates and shows the
confirmation screen, ``back`` shows the form again with what was entered, ``submit`` does it and
returns to Customer Details. Bad input shows the form again with the reason (status 4xx).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from schema import plans
from schema.domains import InvalidDomain, normalize_domain
from schema.licenses import LicenseExpired, LicenseInUse, NotFound, get_license
from schema.models import utcnow
from starter import queries
from starter.api.deps import Db, ServicesDep
from starter.api.errors import status_of
from starter.api.schemas import MAX_ID
from starter.auth import PortalSession
from starter.portal.web import FormUser, User, render, see_other

router = APIRouter(include_in_schema=False)
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
Step = Annotated[str, Form(pattern="^(next|back|submit)$")]

DNS_MODES = (
    ("none", "No DNS", "Add the website without our DNS. You or the customer set up DNS later: "
     "create the records we show on the site page to route the site through our edge."),
    ("import", "Initiate DNS", "We read the website's current DNS records and host them in our DNS. "
     "The customer then only points the domain's name servers at ours."),
    ("import_ssl", "Initiate DNS and Auto SSL", "As Initiate DNS, and a free SSL certificate: once the "
     "name servers point at ours, we validate the domain, obtain the certificate and install it on "
     "our edge servers. It encrypts traffic between our edge and visitors, not between the edge "
     "and the customer's own server."),
)
DNS_LABEL = {code: label for code, label, _ in DNS_MODES}


def _row_of_customer(session: Session, partner_id: int, customer_id: int,
                     license_id: int) -> tuple[queries.CustomerRow, queries.LicenseRow]:
    c = queries.customer(session, partner_id, customer_id)
    row = queries.license_row(session, partner_id, license_id, utcnow())
    if row.customer_id != customer_id:
        raise NotFound(f"license {license_id} not found")
    return c, row


class SavedButPending(Exception):
    """The change is stored but its follow-up could not start: not a form to fill again."""


def _user_error(exc: Exception) -> tuple[int, str]:
    """Status and message of a user error (shown on the form); anything else propagates."""
    found = status_of(exc)
    if found is None:
        raise exc
    if found[1] == "edge_update_not_started":
        raise SavedButPending(str(exc)) from exc
    return found[0], str(exc)


# --- Add Website -------------------------------------------------------------------------------

def _add_website_page(request: Request, user: PortalSession, c: queries.CustomerRow,
                      lic: queries.LicenseRow, stage: str, status_code: int = 200,
                      **values: Any) -> Response:
    """The wizard's form or confirmation; ``values``: domain, dns_mode, normalized, error."""
    return render(request, "add_website.html", user, status_code=status_code, customer=c,
                  license=lic, stage=stage, dns_modes=DNS_MODES, dns_label=DNS_LABEL,
                  domain=values.get("domain", ""), dns_mode=values.get("dns_mode", "none"),
                  normalized=values.get("normalized"), error=values.get("error"))


@router.get("/customers/{customer_id}/licenses/{license_id}/add-website")
def add_website_form(request: Request, customer_id: CustomerId, license_id: ObjectId, user: User,
                     session: Db) -> Response:
    c, lic = _row_of_customer(session, user.partner_id, customer_id, license_id)
    if not lic.can_add_website:
        raise (LicenseInUse if lic.in_use else LicenseExpired)(
            f"license {lic.id} ({lic.type}) cannot take a website: it must be an unused, active "
            "security license")
    return _add_website_page(request, user, c, lic, "form")


@router.post("/customers/{customer_id}/licenses/{license_id}/add-website")
async def add_website_step(request: Request, customer_id: CustomerId, license_id: ObjectId,
                           user: FormUser, services: ServicesDep, session: Db, step: Step,
                           domain: Annotated[str, Form(max_length=300)] = "",
                           dns_mode: Annotated[str, Form(max_length=20)] = "none") -> Response:
    c, lic = await run_in_threadpool(_row_of_customer, session, user.partner_id, customer_id,
                                     license_id)
    values: dict[str, Any] = {"domain": domain, "dns_mode": dns_mode}
    if step == "back":
        return _add_website_page(request, user, c, lic, "form", **values)
    if dns_mode not in DNS_LABEL:
        return _add_website_page(request, user, c, lic, "form", 422, **values,
                                 error="Choose one of the three DNS services.")
    try:
        normalized = normalize_domain(domain)
    except InvalidDomain as exc:
        return _add_website_page(request, user, c, lic, "form", 422, **values, error=str(exc))
    if step == "next":
        return _add_website_page(request, user, c, lic, "confirm", **values, normalized=normalized)
    from starter import websites

    try:
        await websites.submit_website(services, user.partner_id, customer=customer_id,
                                      domain=domain, license_id=license_id, dns_mode=dns_mode,
                                      actor=user.email)
    except Exception as exc:
        status, message = _user_error(exc)
        return _add_website_page(request, user, c, lic, "form", status, **values, error=message)
    return see_other(f"/customers/{customer_id}", "website_added")


# --- Manage Backup License ---------------------------------------------------------------------

def _backup_page(request: Request, user: PortalSession, session: Session, customer_id: int,
                 website_id: int, stage: str, status_code: int = 200, license_id: int | None = None,
                 error: str | None = None) -> Response:
    c = queries.customer(session, user.partner_id, customer_id)
    site = queries.website(session, user.partner_id, website_id)
    if site.customer_id != customer_id:
        raise NotFound(f"website {website_id} not found")
    choices = queries.unused_backup_licenses(session, user.partner_id, customer_id, utcnow())
    chosen = next((r for r in choices if r.id == license_id), None)
    return render(request, "backup_license.html", user, status_code=status_code, customer=c,
                  site=site, choices=choices, chosen=chosen, stage=stage, error=error)


@router.get("/customers/{customer_id}/websites/{website_id}/backup-license")
def backup_form(request: Request, customer_id: CustomerId, website_id: ObjectId, user: User,
                session: Db) -> Response:
    return _backup_page(request, user, session, customer_id, website_id, "form")


@router.post("/customers/{customer_id}/websites/{website_id}/backup-license")
async def backup_step(request: Request, customer_id: CustomerId, website_id: ObjectId,
                      user: FormUser, services: ServicesDep, session: Db, step: Step,
                      license_id: Annotated[int, Form(ge=0, le=MAX_ID)] = 0) -> Response:
    def page(stage: str, status: int = 200, error: str | None = None) -> Response:
        return _backup_page(request, user, session, customer_id, website_id, stage, status,
                            license_id, error)

    if step == "back":
        return await run_in_threadpool(page, "form")
    if license_id:  # another partner's license is not found, as everywhere
        await run_in_threadpool(get_license, session, user.partner_id, license_id)
    choices = await run_in_threadpool(queries.unused_backup_licenses, session, user.partner_id,
                                      customer_id, utcnow())
    if license_id not in {r.id for r in choices}:
        return await run_in_threadpool(page, "form", 422, "Choose one of the customer's unused "
                                       "backup licenses.")
    if step == "next":
        return await run_in_threadpool(page, "confirm")
    from starter import license_actions

    try:
        await license_actions.attach_backup_license(services, user.partner_id, user.email,
                                                    website_id, license_id)
    except Exception as exc:
        status, message = _user_error(exc)
        return await run_in_threadpool(page, "form", status, message)
    return see_other(f"/customers/{customer_id}", "backup_attached")


# --- Upgrade ----------------------------------------------------------------------------------

def _upgrade_page(request: Request, user: PortalSession, session: Session, customer_id: int,
                  license_id: int, stage: str, status_code: int = 200, plan_code: str = "",
                  error: str | None = None) -> Response:
    c, lic = _row_of_customer(session, user.partner_id, customer_id, license_id)
    avail = queries.upgrade_availability(session, user.partner_id, customer_id,
                                         lic.eligible_upgrades, utcnow())
    targets = [(code, plans.plan(code).name, avail.get(code, 0)) for code in lic.eligible_upgrades]
    return render(request, "upgrade.html", user, status_code=status_code, customer=c, license=lic,
                  targets=targets, plan_code=plan_code, stage=stage, error=error,
                  plan_name=plans.plan(plan_code).name if plan_code in plans.PLANS else "")


@router.get("/customers/{customer_id}/licenses/{license_id}/upgrade")
def upgrade_form(request: Request, customer_id: CustomerId, license_id: ObjectId, user: User,
                 session: Db) -> Response:
    return _upgrade_page(request, user, session, customer_id, license_id, "form")


@router.post("/customers/{customer_id}/licenses/{license_id}/upgrade")
async def upgrade_step(request: Request, customer_id: CustomerId, license_id: ObjectId,
                       user: FormUser, services: ServicesDep, session: Db, step: Step,
                       plan_code: Annotated[str, Form(max_length=40)] = "") -> Response:
    def page(stage: str, status: int = 200, error: str | None = None) -> Response:
        return _upgrade_page(request, user, session, customer_id, license_id, stage, status,
                             plan_code, error)

    if step == "back":
        return await run_in_threadpool(page, "form")
    _, lic = await run_in_threadpool(_row_of_customer, session, user.partner_id, customer_id,
                                     license_id)
    if plan_code not in lic.eligible_upgrades:
        return await run_in_threadpool(page, "form", 422, "Choose one of the eligible plans.")
    if step == "next":
        return await run_in_threadpool(page, "confirm")
    from starter import license_actions

    try:
        await license_actions.upgrade_license(services, user.partner_id, user.email, license_id,
                                              plan_code)
    except Exception as exc:
        status, message = _user_error(exc)
        return await run_in_threadpool(page, "form", status, message)
    return see_other(f"/customers/{customer_id}", "upgraded")
