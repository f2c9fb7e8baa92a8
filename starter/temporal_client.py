"""The one way every starter (CLI, API) and the worker connect to Temporal."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.converter import DataConverter

from schema.settings import Settings
from starter.codec import data_converter


def settings_converter(settings: Settings) -> DataConverter:
    """Our data converter (the AES-GCM payload codec) with the configured key."""
    return data_converter(settings.secret_key, settings.secret_key_id)


async def connect(settings: Settings) -> Client:
    """A client for the configured address and namespace, with our data converter."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=settings_converter(settings))


def with_codec(client: Client, settings: Settings) -> Client:
    """The same connection as ``client`` (e.g. a test environment's) with our data converter."""
    config = client.config()
    config["data_converter"] = settings_converter(settings)
    return Client(**config)
