"""The server-rendered partner portal, served by the same app as the API."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from starter.portal import keys, pages, wizards
from starter.portal.web import CsrfRejected, LoginRequired, error_page


def install(app: FastAPI) -> None:
    """Add the portal's routes and the handlers that answer portal pages in HTML."""
    app.include_router(pages.router)
    app.include_router(wizards.router)
    app.include_router(keys.router)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        if request.url.path.endswith(".json") or request.method != "GET":
            return error_page(request, 401, "Your session expired. Log in again.")
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    async def csrf_rejected(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, "This form expired or did not come from this portal. "
                          "Reload the page and try again.")

    async def saved_but(request: Request, exc: Exception) -> Response:
        return error_page(request, 503, str(exc))

    app.add_exception_handler(wizards.SavedButPending, saved_but)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.state.html_error = error_page
