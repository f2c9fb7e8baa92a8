"""One pydantic-settings object holds every setting of Edgeward.

Values come from the environment (prefix ``EDGEWARD_``) or a ``.env`` file. Outside development
the settings refuse the placeholder secrets, so a production deployment cannot start with the
development key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# Development-only placeholder: 32 bytes, base64. Refused outside development.
DEV_SECRET_KEY = "ZGV2ZWxvcG1lbnQtb25seS1lZGdld2FyZC1rZXktMzI="
DEV_SECRET_KEY_ID = "dev"


class Settings(BaseSettings):
    """Configuration of the worker, the starters and the local stack."""

    model_config = SettingsConfigDict(env_prefix="EDGEWARD_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    run_dir: Path = ROOT / ".run"
    database_url: str = ""

    # Symmetric key (base64, 32 bytes) that encrypts secrets at rest and Temporal payloads.
    secret_key: str = DEV_SECRET_KEY
    secret_key_id: str = DEV_SECRET_KEY_ID

    temporal_address: str = "127.0.0.1:17233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "edgeward"
    temporal_ui_port: int = 18233
    temporal_http_port: int = 17243
    temporal_metrics_port: int = 17244

    # Hosted DNS (PowerDNS) and the local stand-ins for the public DNS.
    pdns_api_key: str = "dev-pdns-api-key"
    hosted_dns_port: int = 15353
    hosted_dns_api_port: int = 18081
    parent_dns_port: int = 15354
    parent_dns_api_port: int = 18082
    oldhost_dns_port: int = 15355
    oldhost_dns_api_port: int = 18083
    parent_zone: str = "test."
    nameservers: list[str] = Field(default_factory=lambda: ["ns1.edgeward.net.", "ns2.edgeward.net."])
    validation_zone: str = "acme.edgeward.net."
    edge_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    delegation_deadline_days: int = 14

    # The ACME CA (Pebble locally; any RFC 8555 directory in production).
    pebble_port: int = 14000
    pebble_mgmt_port: int = 15000
    acme_directory_url: str = "https://127.0.0.1:14000/dir"
    acme_ca_bundle: str = ""  # CA file that verifies the ACME server's TLS; "" = system store
    acme_root_url: str = "https://127.0.0.1:15000/roots/0"  # the CA root that issued chains verify against

    # Caddy edge nodes: one admin port and one HTTPS port each, in the same order.
    edge_admin_ports: list[int] = Field(default_factory=lambda: [12019, 12020])
    edge_https_ports: list[int] = Field(default_factory=lambda: [18443, 18444])
    demo_origin_port: int = 18090
    # Add Website (issue 4): plain-HTTP listeners of the edges (same order), the demo origin's
    # admin port, the port the edges proxy to on an origin address given without one (80 in
    # production; the demo origin locally), the Pebble profile `make up` starts ("fast" or
    # "hostile") and the account e-mail for the ACME CA.
    edge_http_ports: list[int] = Field(default_factory=lambda: [18480, 18481])
    demo_origin_admin_port: int = 12021
    origin_port: int = 18090
    pebble_profile: str = "fast"
    acme_email: str = ""
    # Every authoritative server ("ip:port") that must answer a DNS-01 value before the CA is
    # asked to look; empty: the hosted DNS (127.0.0.1:hosted_dns_port) alone.
    acme_dns_check_servers: list[str] = Field(default_factory=list)

    portal_host: str = "127.0.0.1"
    portal_port: int = 18000

    # The daily license sweep (UTC).
    expiry_schedule_hour: int = 3
    expiry_schedule_minute: int = 0

    @property
    def resolved_acme_ca_bundle(self) -> str:
        """The ACME server's TLS CA file: the setting, else the local Pebble's listener CA."""
        if self.acme_ca_bundle:
            return self.acme_ca_bundle
        local = self.run_dir / "pebble" / "listener-ca.pem"
        return str(local) if self.environment != "production" and local.exists() else ""

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the run folder."""
        return self.database_url or f"sqlite:///{self.run_dir / 'edgeward.db'}"

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEV_SECRET_KEY:
                raise ValueError("EDGEWARD_SECRET_KEY is the development placeholder; set a real key")
            if self.pdns_api_key == "dev-pdns-api-key":
                raise ValueError("EDGEWARD_PDNS_API_KEY is the development placeholder")
        return self


def get_settings() -> Settings:
    """Read the settings afresh (the environment may change between tests)."""
    return Settings()
