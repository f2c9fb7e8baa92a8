"""What the subcommands that act through Temporal share: building the services for one
command, and who the CLI says made a change."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.service import RPCError, RPCStatusCode

from schema.db import make_engine, make_session_factory
from schema.settings import get_settings
from starter.cli import UserError
from starter.services import Services
from starter.temporal_client import connect

T = TypeVar("T")


def cli_actor() -> str:
    """The actor recorded in license events for a change made from the CLI."""
    return f"cli:{getpass.getuser()}"


def run_with_services(body: Callable[[Services], Awaitable[T]]) -> T:
    """Build the services for one command, run the coroutine ``body(services)``, close them.

    Temporal being down, or a run that is no longer running, becomes a message, not a traceback.
    """
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)

    async def main() -> T:
        try:
            client = await connect(settings)
        except Exception as exc:
            raise UserError(f"cannot reach Temporal at {settings.temporal_address} ({exc}); "
                            "is the stack up (`make up`)?") from None
        try:
            return await body(Services(make_session_factory(engine), client, settings))
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise UserError("that workflow run is not running (it finished, was cancelled or "
                                "never started); `edgeward site show <domain>` shows where a "
                                "website's provisioning ended") from None
            raise UserError(f"Temporal refused the request: {exc.message}") from None

    try:
        return asyncio.run(main())
    finally:
        engine.dispose()
