"""The one way every starter (CLI, API) and the worker connect to Temporal."""

from __future__ import annotations

from temporalio.client import Client

from schema.settings import Settings


async def connect(settings: Settings) -> Client:
    """A client for the configured address and namespace, with our data converter."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
