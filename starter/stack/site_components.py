"""The Add Website components of `make up`: Pebble, the demo origin and the two Caddy edges.

Each has ``name``, ``start()``, ``stop()`` and ``describe()`` like the other components of
``starter.stack.up``. Pebble's DNS-01 look-ups go to the hosted DNS, which starts before it.
The edges keep no configuration of their own (the database is the source of truth), so once the
database is up ``EdgeSyncComponent`` loads every provisioned site and its newest certificate
onto the freshly started edges.
"""

from __future__ import annotations

import asyncio

from schema.settings import Settings
from starter.stack.caddy import CaddyEdge, DemoOrigin
from starter.stack.pebble import PebbleServer


class PebbleComponent:
    name = "pebble"

    def __init__(self, settings: Settings) -> None:
        self.server = PebbleServer(settings.run_dir / "pebble", settings.pebble_port,
                                   settings.pebble_mgmt_port, settings.hosted_dns_port,
                                   profile=settings.pebble_profile)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> bool:
        return self.server.stop()

    def describe(self) -> list[str]:
        return [f"ACME (Pebble): {self.server.directory_url} ({self.server.profile} profile; "
                f"listener CA {self.server.ca_bundle}; issuing root {self.server.root_url})"]


class DemoOriginComponent:
    name = "demo-origin"

    def __init__(self, settings: Settings) -> None:
        self.origin = DemoOrigin(settings.run_dir / "demo-origin", settings.demo_origin_port,
                                 settings.demo_origin_admin_port)

    def start(self) -> None:
        self.origin.start()

    def stop(self) -> bool:
        return self.origin.stop()

    def describe(self) -> list[str]:
        return [f"Demo origin:   http://127.0.0.1:{self.origin.port}/"]


class EdgesComponent:
    name = "edges"

    def __init__(self, settings: Settings) -> None:
        ports = zip(settings.edge_admin_ports, settings.edge_https_ports, settings.edge_http_ports,
                    strict=True)
        self.edges = [CaddyEdge(f"edge-{n}", settings.run_dir / f"edge-{n}", admin, https, http)
                      for n, (admin, https, http) in enumerate(ports, start=1)]

    def start(self) -> None:
        for edge in self.edges:
            edge.start()

    def stop(self) -> bool:
        return any([edge.stop() for edge in self.edges])

    def describe(self) -> list[str]:
        return [f"Edge {e.name}:   https 127.0.0.1:{e.https_port}, http 127.0.0.1:{e.http_port}, "
                f"admin {e.admin_url}" for e in self.edges]


def site_components(settings: Settings) -> list[PebbleComponent | DemoOriginComponent | EdgesComponent]:
    """In start order, after the DNS servers and before the worker."""
    return [PebbleComponent(settings), DemoOriginComponent(settings), EdgesComponent(settings)]


class EdgeSyncComponent:
    """After the database: put every provisioned website (and its newest certificate) back on
    the edges, which start empty. Uses the same EdgeActivities the workflows use."""

    name = "edge-sync"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.count = 0

    def start(self) -> None:
        self.count = asyncio.run(resync_edges(self.settings))

    def stop(self) -> bool:
        return False

    def describe(self) -> list[str]:
        return [f"Edge sync:     {self.count} provisioned site(s) loaded on the edges"]


async def resync_edges(settings: Settings) -> int:
    """Apply every website that reached the edges, in one batch per edge, then its certificate."""
    import httpx
    from sqlalchemy import func, select

    from activities.db import CertificateStore
    from activities.edge import (
        ApplySitesInput,
        EdgeActivities,
        EdgeNode,
        EdgeSite,
        InstallCertificateInput,
    )
    from schema.db import make_engine, make_session_factory
    from schema.models import Certificate, License, Website
    from schema.secrets import SecretBox

    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    try:
        with sessions() as s:
            rows = s.execute(select(Website.domain_ascii, License.plan_code, Website.origin_addresses,
                                    func.max(Certificate.id))
                             .join(License, License.id == Website.security_license_id)
                             .outerjoin(Certificate, Certificate.website_id == Website.id)
                             .where(Website.removed_at.is_(None),
                                    Website.step.not_in(("Pending", "Failed", "Cancelled")))
                             .group_by(Website.id, License.plan_code)).all()
        sites = [EdgeSite(d, p, list(o)) for d, p, o, _ in rows if o]
        if not sites:
            return 0
        nodes = [EdgeNode(f"edge-{n}", f"http://127.0.0.1:{a}", h) for n, (a, h) in enumerate(
            zip(settings.edge_admin_ports, settings.edge_https_ports, strict=True), start=1)]
        store = CertificateStore(sessions, SecretBox(settings.secret_key, settings.secret_key_id))
        async with httpx.AsyncClient() as http:
            edges = EdgeActivities(http, nodes, store, settings.origin_port)
            await edges.apply_sites(ApplySitesInput(sites))
            for domain, _, origins, cert_id in rows:
                if cert_id is not None and origins:
                    for node in nodes:
                        await edges.install_certificate(
                            InstallCertificateInput(node.name, domain, cert_id))
        return len(sites)
    finally:
        engine.dispose()
