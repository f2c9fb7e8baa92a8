"""/api/v1/customers: list (search, keyset pagination), create, show, update contact details,
and distribute a license from the partner's pool to a customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from schema import licenses as svc
from schema.models import Customer
from starter import license_actions, queries
from starter.api.deps import ApiCaller, Db, Now, ServicesDep
from starter.api.errors import ApiError
from starter.api.schemas import (
    MAX_ID,
    CustomerDetail,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    DistributeIn,
    LicenseOut,
)
from starter.api.views import license_out, website_out

router = APIRouter(prefix="/customers", tags=["customers"])
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]
SearchText = Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$",
                                  description="matches name, e-mail or company")]


def _email_taken(session: Db, partner_id: int, email: str, but: int | None = None) -> bool:
    stmt = select(Customer.id).where(Customer.partner_id == partner_id,
                                     func.lower(Customer.email) == email.lower())
    if but is not None:
        stmt = stmt.where(Customer.id != but)
    return session.scalars(stmt).first() is not None


def _conflict(email: str) -> ApiError:
    return ApiError(409, f"a customer with e-mail {email} already exists; open that customer instead",
                    "duplicate_email")


@router.get("", response_model=CustomerPage, summary="List customers")
def list_customers(caller: ApiCaller, session: Db, q: SearchText = "",
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   cursor: Annotated[str | None, Query(max_length=2000)] = None) -> CustomerPage:
    page = queries.list_customers(session, caller.partner_id, q, limit, cursor)
    return CustomerPage(items=[CustomerOut(**vars(c)) for c in page.items], next_cursor=page.next_cursor)


@router.post("", status_code=201, response_model=CustomerOut, summary="Create a customer")
def create_customer(body: CustomerIn, caller: ApiCaller, session: Db) -> CustomerOut:
    email = body.email.strip()
    if _email_taken(session, caller.partner_id, email):
        raise _conflict(email)
    cust = Customer(partner_id=caller.partner_id, name=body.name.strip(), email=email,
                    company=body.company, phone=body.phone, address=body.address)
    session.add(cust)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _conflict(email) from None
    return CustomerOut(**vars(queries.customer(session, caller.partner_id, cust.id)))


@router.get("/{customer_id}", response_model=CustomerDetail,
            summary="Show a customer: contact information, licenses and websites")
def show_customer(customer_id: CustomerId, caller: ApiCaller, session: Db, services: ServicesDep,
                  now: Now) -> CustomerDetail:
    c = queries.customer(session, caller.partner_id, customer_id)
    lics = queries.customer_licenses(session, caller.partner_id, customer_id, now)
    sites = queries.customer_websites(session, caller.partner_id, customer_id)
    return CustomerDetail(**vars(c), licenses=[license_out(r) for r in lics],
                          websites=[website_out(session, services.settings, caller.partner_id, w)
                                    for w in sites])


@router.patch("/{customer_id}", response_model=CustomerOut, summary="Update contact information")
def update_customer(customer_id: CustomerId, body: CustomerPatch, caller: ApiCaller,
                    session: Db) -> CustomerOut:
    cust = svc.get_customer(session, caller.partner_id, customer_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "email" in changes:
        changes["email"] = changes["email"].strip()
        if _email_taken(session, caller.partner_id, changes["email"], but=cust.id):
            raise _conflict(changes["email"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise ApiError(422, "the name must not be blank", "blank_name")
    for k, v in changes.items():
        setattr(cust, k, v)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _conflict(str(changes.get("email"))) from None
    return CustomerOut(**vars(queries.customer(session, caller.partner_id, cust.id)))


@router.post("/{customer_id}/licenses", status_code=201, response_model=LicenseOut,
             summary="Distribute a license of a plan from the partner's pool to the customer")
async def distribute(customer_id: CustomerId, body: DistributeIn, caller: ApiCaller, session: Db,
                     services: ServicesDep, now: Now) -> LicenseOut:
    lic_id = await license_actions.distribute_license(services, caller.partner_id, caller.actor,
                                                      customer_id, body.plan_code)
    row = await run_in_threadpool(queries.license_row, session, caller.partner_id, lic_id, now)
    return license_out(row)
