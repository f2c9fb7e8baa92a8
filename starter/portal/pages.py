"""Portal pages: login, the 'Customer and License Management' tab, Customer Details, the site
page, the CSV downloads, and the one-click actions (Renew, Auto Renewal, Check name servers now).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from schema import plans
from schema.licenses import NotFound
from schema.models import utcnow
from starter import queries
from starter.api import views
from starter.api.deps import Db, Now, ServicesDep
from starter.api.errors import status_of
from starter.api.reports import csv_response
from starter.api.schemas import MAX_ID, BackupSettings
from starter.api.websites import save_backup_settings, workflow_running
from starter.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PortalSession,
    check_login,
    csrf_ok,
    new_login_csrf,
)
from starter.portal.web import FormUser, User, error_page, render, see_other, signer

router = APIRouter(include_in_schema=False)
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]
LicenseId = Annotated[int, Path(ge=1, le=MAX_ID)]
WebsiteId = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 25


def _safe_next(url: str) -> str:
    """Only a path of this portal: never an open redirect to another site."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/customers"


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/customers", status_code=303)


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(max_length=500)] = "/customers") -> Response:
    token = new_login_csrf()
    resp: Response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next),
                            error=None)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, secure=True, samesite="strict",
                    max_age=3600, path="/login")
    return resp


@router.post("/login")
def login(request: Request, services: ServicesDep, session: Db,
          email: Annotated[str, Form(max_length=320)], password: Annotated[str, Form(max_length=500)],
          csrf_token: Annotated[str, Form(max_length=100)] = "",
          next: Annotated[str, Form(max_length=500)] = "/customers") -> Response:
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return error_page(request, 403, "The login form expired or did not come from this portal. "
                          "Open the login page again and sign in.")
    user = check_login(session, email, password)
    if user is None:
        token = new_login_csrf()
        page: Response = render(request, "login.html", None, status_code=401, login_csrf=token,
                                next=_safe_next(next), error="Wrong e-mail or password.", email=email)
        page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, secure=True, samesite="strict",
                        max_age=3600, path="/login")
        return page
    s = signer(services)
    cookie, _ = s.issue(user)
    resp = see_other(_safe_next(next))
    resp.set_cookie(SESSION_COOKIE, cookie, httponly=True, secure=True, samesite="strict",
                    max_age=s.lifetime_s, path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(user: FormUser) -> Response:
    resp = see_other("/login")
    resp.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return resp


@router.get("/customers")
def customers(request: Request, user: User, session: Db,
              q: Annotated[str, Query(max_length=200)] = "",
              cursor: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    page = queries.list_customers(session, user.partner_id, q.replace("\x00", ""), PAGE_SIZE, cursor)
    return render(request, "customers.html", user, page=page, q=q)


@router.get("/customers/{customer_id}")
def customer_details(request: Request, customer_id: CustomerId, user: User, session: Db,
                     now: Now) -> Response:
    c = queries.customer(session, user.partner_id, customer_id)
    lics = queries.customer_licenses(session, user.partner_id, customer_id, now)
    sites = queries.customer_websites(session, user.partner_id, customer_id)
    pool = queries.pool_counts(session, user.partner_id)
    return render(request, "customer.html", user, customer=c, licenses=lics, websites=sites,
                  pool=[(p.code, p.name, pool[p.code]) for p in plans.PLANS.values() if pool.get(p.code)],
                  plan_name=lambda code: plans.plan(code).name,
                  waiting=queries.waiting_for_name_servers)


@router.get("/customers/{customer_id}/provisioning.json")
def provisioning(customer_id: CustomerId, user: User, session: Db) -> JSONResponse:
    """The live Site Provisioning column (polled by portal.js while a workflow runs)."""
    return JSONResponse(queries.provisioning(session, user.partner_id, customer_id),
                        headers={"Cache-Control": "no-store"})


@router.get("/customers/{customer_id}/report.csv")
def customer_csv(customer_id: CustomerId, user: User, services: ServicesDep, session: Db,
                 now: Now) -> StreamingResponse:
    queries.customer(session, user.partner_id, customer_id)
    return csv_response(services, user.partner_id, customer_id, now)


@router.get("/report.csv")
def partner_csv(user: User, services: ServicesDep, now: Now) -> StreamingResponse:
    return csv_response(services, user.partner_id, None, now)


async def _act(request: Request, user: PortalSession, action: Callable[[], Awaitable[object]],
               back: str, notice: str) -> Response:
    """Run a change; a user error shows as an error page, success goes back with a notice."""
    try:
        await action()
    except Exception as exc:
        found = status_of(exc)
        if found is None:
            raise
        return error_page(request, found[0], str(exc), user)
    return see_other(back, notice)


@router.post("/customers/{customer_id}/licenses/{license_id}/renew")
async def renew(request: Request, customer_id: CustomerId, license_id: LicenseId, user: FormUser,
                services: ServicesDep, session: Db) -> Response:
    await run_in_threadpool(_license_of_customer, session, user.partner_id, customer_id, license_id)
    from starter import license_actions

    return await _act(request, user, lambda: license_actions.renew_license(
        services, user.partner_id, user.email, license_id), f"/customers/{customer_id}", "renewed")


@router.post("/customers/{customer_id}/licenses/{license_id}/auto-renew")
async def auto_renew(request: Request, customer_id: CustomerId, license_id: LicenseId, user: FormUser,
                     services: ServicesDep, session: Db,
                     enabled: Annotated[str, Form(pattern="^(on|off)$")]) -> Response:
    await run_in_threadpool(_license_of_customer, session, user.partner_id, customer_id, license_id)
    from starter import license_actions

    on = enabled == "on"
    return await _act(request, user, lambda: license_actions.set_auto_renew(
        services, user.partner_id, user.email, license_id, on), f"/customers/{customer_id}",
        "auto_renew_on" if on else "auto_renew_off")


def _license_of_customer(session: Session, partner_id: int, customer_id: int,
                         license_id: int) -> queries.LicenseRow:
    """The license when it is this customer's (another's id is not found, as everywhere)."""
    row = queries.license_row(session, partner_id, license_id, utcnow())
    if row.customer_id != customer_id:
        raise NotFound(f"license {license_id} not found")
    return row


@router.post("/customers/{customer_id}/licenses")
async def distribute(request: Request, customer_id: CustomerId, user: FormUser, services: ServicesDep,
                     session: Db, plan_code: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Give the customer a license of the plan from the partner's pool (sets its Order Date)."""
    from starter import license_actions

    await run_in_threadpool(queries.customer, session, user.partner_id, customer_id)
    return await _act(request, user, lambda: license_actions.distribute_license(
        services, user.partner_id, user.email, customer_id, plan_code), f"/customers/{customer_id}",
        "distributed")


@router.post("/websites/{website_id}/cancel")
async def cancel(request: Request, website_id: WebsiteId, user: FormUser, services: ServicesDep,
                 session: Db) -> Response:
    from starter import websites

    w = await run_in_threadpool(queries.website, session, user.partner_id, website_id)

    async def stop() -> None:
        async with workflow_running(w.domain, "cancelled"):
            await websites.cancel_website(services, user.partner_id, website_id)

    return await _act(request, user, stop, f"/websites/{website_id}", "cancel_requested")


@router.get("/websites/{website_id}")
def site_page(request: Request, website_id: WebsiteId, user: User, services: ServicesDep,
              session: Db) -> Response:
    w = queries.website(session, user.partner_id, website_id)
    return render(request, "site.html", user, site=w,
                  customer=queries.customer(session, user.partner_id, w.customer_id),
                  name_servers=views.name_servers(services.settings, w),
                  records=views.records_to_create(services.settings, w),
                  certificate=queries.certificate(session, user.partner_id, w.id),
                  backup=views.backup_settings(w), error=None,
                  waiting=queries.waiting_for_name_servers(w.step, w.dns_mode))


@router.post("/websites/{website_id}/check-name-servers")
async def check_now(request: Request, website_id: WebsiteId, user: FormUser, services: ServicesDep,
                    session: Db, back: Annotated[str, Form(max_length=500)] = "") -> Response:
    w = await run_in_threadpool(queries.website, session, user.partner_id, website_id)
    from starter import websites

    async def check() -> None:
        async with workflow_running(w.domain, "checked now"):
            await websites.check_name_servers_now(services, user.partner_id, website_id)

    return await _act(request, user, check, _safe_next(back or f"/customers/{w.customer_id}"),
                      "check_requested")


@router.post("/websites/{website_id}/backup-settings")
def backup_settings(request: Request, website_id: WebsiteId, user: FormUser, services: ServicesDep,
                    session: Db, enabled: Annotated[str, Form()] = "off",
                    frequency: Annotated[str, Form()] = "daily", hour: Annotated[str, Form()] = "2",
                    weekday: Annotated[str, Form()] = "0", retention_days: Annotated[str, Form()] = "30",
                    include_database: Annotated[str, Form()] = "off") -> Response:
    try:
        body = BackupSettings(enabled=enabled == "on", frequency=frequency, hour=hour,  # type: ignore[arg-type]
                              weekday=weekday, retention_days=retention_days,  # type: ignore[arg-type]
                              include_database=include_database == "on")
        save_backup_settings(session, user.partner_id, website_id, body)
    except ValidationError as exc:
        msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return error_page(request, 422, f"The backup schedule was not saved: {msg}", user)
    except Exception as exc:
        found = status_of(exc)
        if found is None:
            raise
        return error_page(request, found[0], str(exc), user)
    session.commit()
    return see_other(f"/websites/{website_id}", "backup_saved")
