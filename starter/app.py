"""The FastAPI application: the REST API under /api/v1 and the server-rendered partner portal.

``create_app(services)`` serves over given services (tests, ``starter.serve``); without them
(``uvicorn starter.app:create_app --factory``) it builds its own at start-up from the settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from schema.db import make_engine, make_session_factory
from schema.settings import Settings, get_settings
from starter.api import codec, customers, errors, licenses, reports, websites
from starter.portal import install as install_portal
from starter.services import Services
from starter.temporal_client import connect

STATIC = Path(__file__).resolve().parent / "portal" / "static"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
}


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    for module in (customers, licenses, websites, reports, codec):
        api.include_router(module.router)
    return api


def create_app(services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        settings = get_settings()
        engine = make_engine(settings.resolved_database_url, pool_pre_ping=True)
        app.state.services = Services(make_session_factory(engine), await connect(settings), settings)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="Edgeward partner API", version="1.0",
                  description="Customers, licenses, websites and reports of one partner. "
                  "Authenticate with a partner API key: `Authorization: Bearer ew_...`.",
                  lifespan=lifespan, openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    if services is not None:
        app.state.services = services
    errors.install(app)
    app.include_router(api_router())
    install_portal(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    ui_settings = services.settings if services is not None else get_settings()
    app.add_middleware(CORSMiddleware, allow_origins=ui_origins(ui_settings),
                       allow_methods=["POST"], allow_headers=["content-type", "x-namespace"])

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def ui_origins(settings: Settings) -> list[str]:
    """The Temporal Web UI's origins: the only browser pages that may call the codec server."""
    return [f"http://{host}:{settings.temporal_ui_port}" for host in ("127.0.0.1", "localhost")]
