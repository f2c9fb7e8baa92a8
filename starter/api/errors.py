"""Errors become HTTP answers here, once: every 4xx carries ``detail`` (what to fix) and ``code``.

The license service's errors, the domain validator's and the plan catalogue's map to a status by
their kind; nothing else of ours is turned into a 4xx, so a bug still shows as a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from schema import licenses as svc
from schema.plans import UnknownPlan
from starter.license_actions import EdgeUpdateNotStarted
from starter.queries import BadCursor


class ApiError(Exception):
    """A 4xx that a route raises itself."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


STATUS_OF_CODE = {
    svc.NotFound.code: 404,
    svc.NotEligible.code: 422,
    svc.WrongPlanKind.code: 422,
    svc.NoLicenseAvailable.code: 409,
    svc.LicenseInUse.code: 409,
    svc.LicenseExpired.code: 409,
    BadCursor.code: 400,
}


def domain_error_types() -> tuple[type[Exception], ...]:
    """The errors of the domain validator and of Add Website's starter (they carry ``code``)."""
    from schema.domains import InvalidDomain
    from starter.websites import WebsiteError

    return (InvalidDomain, WebsiteError)


def problem(status: int, detail: str, code: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code=status)


def status_of(exc: Exception) -> tuple[int, str] | None:
    """The HTTP status and code of one of our user-facing errors, or None for anything else."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    if isinstance(exc, svc.LicenseError | BadCursor):
        return STATUS_OF_CODE.get(exc.code, 422), exc.code
    if isinstance(exc, UnknownPlan):
        return 422, "unknown_plan"
    if isinstance(exc, domain_error_types()):
        code = str(getattr(exc, "code", "invalid_domain"))
        return (409 if code == "domain_taken" else 422), code
    if isinstance(exc, EdgeUpdateNotStarted):  # saved; the edge update starts later
        return 503, "edge_update_not_started"
    return None


def install(app: FastAPI) -> None:
    def answer(request: Request, status: int, detail: str, code: str,
               headers: Mapping[str, str] | None = None) -> Response:
        html = getattr(request.app.state, "html_error", None)
        if html is not None and not request.url.path.startswith("/api/"):
            return html(request, status, detail)  # a portal page: an HTML error page
        return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)

    async def on_ours(request: Request, exc: Exception) -> Response:
        found = status_of(exc)
        assert found is not None
        return answer(request, found[0], str(exc), found[1])

    for exc_type in (ApiError, svc.LicenseError, BadCursor, UnknownPlan, *domain_error_types()):
        app.add_exception_handler(exc_type, on_ours)
    app.add_exception_handler(EdgeUpdateNotStarted, on_ours)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return answer(request, exc.status_code, str(exc.detail), f"http_{exc.status_code}",
                      exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        if not request.url.path.startswith("/api/"):
            return answer(request, 422, f"Invalid input: {text}", "invalid_input")
        return JSONResponse({"detail": f"invalid input: {text}", "code": "invalid_input",
                             "errors": errors}, status_code=422)

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
