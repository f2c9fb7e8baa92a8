"""The Add Website components of `make up`: Pebble, the demo origin and the two Caddy edges.

Each has ``name``, ``start()``, ``stop()`` and ``describe()`` like the other components of
``starter.stack.up``. Pebble's DNS-01 look-ups go to the hosted DNS, which starts before it.
"""

from __future__ import annotations

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
