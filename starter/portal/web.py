"""What every portal page shares: templates, the logged-in user, CSRF checking, error pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from schema.models import utcnow
from starter.api.deps import Db, ServicesDep
from starter.auth import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, PortalSession, SessionSigner, csrf_ok
from starter.services import Services

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

NOTICES = {
    "website_added": "Website submitted: provisioning has started. Follow it in the Site "
                     "Provisioning column.",
    "backup_attached": "The backup license was added to the site.",
    "upgraded": "The license was upgraded.",
    "renewed": "The license was renewed.",
    "auto_renew_on": "Auto renewal is on.",
    "auto_renew_off": "Auto renewal is off.",
    "check_requested": "The name servers will be checked now.",
    "backup_saved": "The backup schedule was saved.",
    "cancelled": "Provisioning was cancelled.",
    "key_revoked": "The API key was revoked.",
    "distributed": "A license from your pool was distributed to the customer.",
    "cancel_requested": "Cancelling: the provisioning run removes what it set up, then shows Cancelled.",
}


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__("login required")
        self.next_url = next_url


class CsrfRejected(Exception):
    """A form post without this session's CSRF token."""


def signer(services: Services) -> SessionSigner:
    return SessionSigner(services.settings.secret_key)


def portal_session(request: Request, services: ServicesDep, session: Db) -> PortalSession:
    data = signer(services).read(session, request.cookies.get(SESSION_COOKIE))
    if data is None:
        raise LoginRequired(request.url.path)
    return data


User = Annotated[PortalSession, Depends(portal_session)]


async def csrf_protect(request: Request, user: User) -> PortalSession:
    """The session, once the form (or the X-CSRF-Token header) carries its CSRF token."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not csrf_ok(user.csrf, presented):
        raise CsrfRejected()
    return user


FormUser = Annotated[PortalSession, Depends(csrf_protect)]


def fmt_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "Never"


def fmt_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


TEMPLATES.env.filters["date"] = fmt_date
TEMPLATES.env.filters["datetime"] = fmt_datetime


def render(request: Request, name: str, user: PortalSession | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return TEMPLATES.TemplateResponse(
        request, name, {"user": user, "csrf": user.csrf if user else "", "notice": notice,
                        "now": utcnow(), **context}, status_code=status_code)


def see_other(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        url += ("&" if "?" in url else "?") + f"notice={quote(notice)}"
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str, user: PortalSession | None = None) -> Response:
    return render(request, "error.html", user, status_code=status, status=status, message=message)
