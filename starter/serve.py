"""``python -m starter.serve``: the API and portal under uvicorn, on the configured loopback
address (``EDGEWARD_PORTAL_HOST`` / ``EDGEWARD_PORTAL_PORT``), over the configured database and
Temporal. ``make up`` runs it as the portal component; the tests run it the same way."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from schema.db import make_engine, make_session_factory
from schema.settings import Settings, get_settings
from starter.app import create_app
from starter.services import Services
from starter.temporal_client import connect

log = logging.getLogger("edgeward.portal")


async def serve(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url, pool_pre_ping=True)
    services = Services(make_session_factory(engine), await connect(settings), settings)
    config = uvicorn.Config(create_app(services), host=settings.portal_host, port=settings.portal_port,
                            log_level="info", access_log=False, proxy_headers=False,
                            server_header=False)
    server = uvicorn.Server(config)
    log.info("portal on http://%s:%s", settings.portal_host, settings.portal_port)
    try:
        await server.serve()
    finally:
        engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(get_settings()))


if __name__ == "__main__":
    main()
