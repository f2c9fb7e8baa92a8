"""Caddy edge nodes over their admin API (incremental calls only, never a full /load).

The payloads below are the contract between the workflows and this module; the
``EdgeActivities`` class is built on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
from temporalio import activity

from activities.db import CertificateStore
from activities.edge_config import cert_id, certificate_entry, route_id, site_route
from activities.errors import invalid_input, permanent, transient
from schema.plans import UnknownPlan, plan

SERVER = "edge"  # the HTTP server's name in each edge's Caddy config
ADMIN_TIMEOUT = 15.0
CONFLICT_ATTEMPTS = 8
VERIFY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 0)  # a few quick handshakes before giving up
FALLBACK_ID = "edge-fallback"  # the edge's last route (starter.stack.caddy): sites go before it


@dataclass(frozen=True)
class EdgeSite:
    """One website as every edge serves it."""

    domain: str  # ASCII (IDNA) form; the route also covers www.<domain>
    plan_code: str  # the security plan: decides the features (WAF rules) on the edge
    origins: list[str] = field(default_factory=list)  # upstreams, "host:port"
    include_www: bool = True


@dataclass(frozen=True)
class ApplySitesInput:
    """Add or replace these sites on every edge: one admin call per edge per batch."""

    sites: list[EdgeSite]
    edges: list[str] = field(default_factory=list)  # only these edges (empty: every edge)


@dataclass(frozen=True)
class EdgeNode:
    """One Caddy edge: its admin API and the address visitors reach it on."""

    name: str
    admin_url: str
    https_port: int
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class EdgeInventory:
    names: list[str]
    addresses: list[str]


@dataclass(frozen=True)
class ApplySitesOutput:
    edges: list[str]
    added: int  # routes added, summed over the edges
    replaced: int  # routes replaced (including unchanged ones rewritten with the same content)


@dataclass(frozen=True)
class RemoveSiteInput:
    """Remove a site's route (and its certificate) from these edges (empty: every edge)."""

    domain: str
    edges: list[str] = field(default_factory=list)
    remove_certificate: bool = True


@dataclass(frozen=True)
class InstallCertificateInput:
    """Load (or replace) the stored certificate for ``domain`` on one edge, by its @id."""

    edge: str
    domain: str
    certificate_id: int


@dataclass(frozen=True)
class InstallCertificateOutput:
    edge: str
    changed: bool  # False: that very certificate was already installed


@dataclass(frozen=True)
class VerifyCertificateInput:
    """A TLS handshake with SNI = ``domain`` on one edge must serve the leaf ``sha256``."""

    edge: str
    domain: str
    sha256: str


@dataclass(frozen=True)
class VerifyCertificateOutput:
    edge: str
    served_sha256: str


def dial_address(origin: str, default_port: int) -> str:
    """``host:port`` for Caddy: ``192.0.2.1`` -> ``192.0.2.1:80``, ``::1`` -> ``[::1]:80``;
    an origin that names its port keeps it."""
    try:
        ip = ipaddress.ip_address(origin.strip("[]"))
    except ValueError:
        host, sep, port = origin.rpartition(":")
        return origin if sep and port.isdigit() and host else f"{origin}:{default_port}"
    return f"[{ip}]:{default_port}" if ip.version == 6 else f"{ip}:{default_port}"


def fnv1a32(data: bytes) -> str:
    """Caddy's config ETag hash (FNV-1a, 32 bits) of a config value as the API returned it."""
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


class EdgeActivities:
    """Sites and certificates on every Caddy edge, through each edge's admin API.

    Incremental calls only: a batch of sites is one conditional PATCH of the edge's route list
    (``If-Match`` on Caddy's ETag, so concurrent batches never lose each other's sites), a
    certificate is one POST (new) or PATCH of its ``@id``, a removal is one DELETE of an ``@id``.
    Every activity checks before it acts, so running it twice leaves the edge the same.
    """

    def __init__(self, http: httpx.AsyncClient, edges: list[EdgeNode], certificates: CertificateStore,
                 default_origin_port: int, server: str = SERVER) -> None:
        if not edges:
            raise ValueError("at least one edge node is needed")
        self._http = http
        self._edges = {e.name: e for e in edges}
        self._certs = certificates
        self._origin_port = default_origin_port
        self._routes_path = f"/config/apps/http/servers/{server}/routes"

    # -- transport -------------------------------------------------------------------------
    def _edge(self, name: str) -> EdgeNode:
        try:
            return self._edges[name]
        except KeyError:
            raise invalid_input(f"unknown edge {name!r}; edges: {', '.join(self._edges)}") from None

    def _select(self, names: list[str]) -> list[EdgeNode]:
        return [self._edge(n) for n in names] if names else list(self._edges.values())

    async def _call(self, edge: EdgeNode, method: str, path: str, what: str, body: Any = None,
                    headers: dict[str, str] | None = None,
                    ok: tuple[int, ...] = ()) -> httpx.Response:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        try:
            r = await self._http.request(method, edge.admin_url + path, headers=hdrs,
                                         content=None if body is None else json.dumps(body),
                                         timeout=ADMIN_TIMEOUT)
        except httpx.HTTPError as exc:
            raise transient(f"edge {edge.name} admin API unreachable while trying to {what}: "
                            f"{type(exc).__name__}") from exc
        if r.status_code < 300 or r.status_code in ok:
            return r
        reason = _reason(r)
        if r.status_code >= 500 and "unknown object ID" not in reason:
            raise transient(f"edge {edge.name} answered {r.status_code} while trying to {what}: "
                            f"{reason}")
        raise EdgeRefused(r.status_code, f"edge {edge.name} refused to {what}: {reason}")

    async def _get_id(self, edge: EdgeNode, obj_id: str) -> Any | None:
        """The config object with this @id, or None (Caddy: 404, or 500 "unknown object ID")."""
        try:
            r = await self._call(edge, "GET", f"/id/{obj_id}", f"read {obj_id}", ok=(404,))
        except EdgeRefused as exc:
            if "unknown object ID" in str(exc):
                return None
            raise
        return None if r.status_code == 404 else r.json()

    # -- sites -----------------------------------------------------------------------------
    def _route(self, site: EdgeSite, edge: EdgeNode) -> dict[str, Any]:
        try:
            plan(site.plan_code)
        except UnknownPlan as exc:
            raise invalid_input(str(exc)) from None
        if not site.origins:
            raise invalid_input(f"{site.domain} has no origin; give the address of its web server")
        origins = sorted((dial_address(o, self._origin_port) for o in site.origins),
                         key=lambda o: o.startswith("["))  # IPv4 first: the "first" policy
        return site_route(site.domain, site.plan_code, origins, site.include_www, edge.name)

    async def _apply_on(self, edge: EdgeNode, sites: list[EdgeSite]) -> tuple[int, int]:
        """One conditional PATCH of the edge's route list; re-read and retry on a lost race."""
        wanted = {route_id(s.domain): self._route(s, edge) for s in sites}
        for _ in range(CONFLICT_ATTEMPTS):
            r = await self._call(edge, "GET", self._routes_path, "read the routes")
            current = r.json() or []
            etag = f'"{self._routes_path} {fnv1a32(r.content)}"'
            present = {x.get("@id") for x in current}
            routes = [wanted.get(x.get("@id"), x) for x in current]
            fresh = [route for rid, route in wanted.items() if rid not in present]
            at = next((i for i, x in enumerate(routes) if x.get("@id") == FALLBACK_ID), len(routes))
            routes[at:at] = fresh  # new sites go before the 404 fallback
            replaced = len(present & wanted.keys())
            try:
                await self._call(edge, "PATCH", self._routes_path, f"apply {len(sites)} sites",
                                 routes, headers={"If-Match": etag})
            except EdgeRefused as exc:
                if exc.status == 412:
                    continue  # another batch changed the routes since we read them
                raise permanent(str(exc)) from None
            return len(wanted) - replaced, replaced
        raise transient(f"edge {edge.name}: the route list kept changing; will retry")

    @activity.defn(name="edge.list_edges")
    async def list_edges(self) -> EdgeInventory:
        """The edge names, in order (workflows install on each of them in parallel), and the
        addresses visitors reach them on (what a customer's A records must point at)."""
        nodes = list(self._edges.values())
        return EdgeInventory([e.name for e in nodes], sorted({e.host for e in nodes}))

    @activity.defn(name="edge.apply_sites")
    async def apply_sites(self, inp: ApplySitesInput) -> ApplySitesOutput:
        """Add or replace these sites on the edges: one admin write per edge for the batch."""
        edges = self._select(inp.edges)
        if not inp.sites:
            return ApplySitesOutput([e.name for e in edges], 0, 0)
        results = await asyncio.gather(*(self._apply_on(e, list(inp.sites)) for e in edges))
        return ApplySitesOutput([e.name for e in edges], sum(a for a, _ in results),
                                sum(r for _, r in results))

    @activity.defn(name="edge.remove_site")
    async def remove_site(self, inp: RemoveSiteInput) -> list[str]:
        """Remove the site's route (and certificate); returns the edges that still had them."""
        async def one(edge: EdgeNode) -> bool:
            removed = False
            ids = [route_id(inp.domain)] + ([cert_id(inp.domain)] if inp.remove_certificate else [])
            for obj_id in ids:
                if await self._get_id(edge, obj_id) is not None:
                    await self._delete_id(edge, obj_id)
                    removed = True
            return removed

        edges = self._select(inp.edges)
        done = await asyncio.gather(*(one(e) for e in edges))
        return [e.name for e, d in zip(edges, done, strict=True) if d]

    async def _delete_id(self, edge: EdgeNode, obj_id: str) -> None:
        try:
            await self._call(edge, "DELETE", f"/id/{obj_id}", f"remove {obj_id}", ok=(404,))
        except EdgeRefused as exc:
            if "unknown object ID" not in str(exc):
                raise permanent(str(exc)) from None

    # -- certificates ----------------------------------------------------------------------
    @activity.defn(name="edge.install_certificate")
    async def install_certificate(self, inp: InstallCertificateInput) -> InstallCertificateOutput:
        """Load the stored certificate on one edge under ``cert-<domain>``, replacing an older
        one; nothing happens when that very certificate is there already."""
        edge = self._edge(inp.edge)
        try:
            stored = await asyncio.to_thread(self._certs.load, inp.certificate_id)
        except LookupError as exc:
            raise permanent(str(exc)) from None
        entry = certificate_entry(inp.domain, stored.fullchain_pem, stored.key_pem)
        obj_id = cert_id(inp.domain)
        current = await self._get_id(edge, obj_id)
        if current is not None and current.get("certificate") == stored.fullchain_pem:
            return InstallCertificateOutput(edge.name, False)
        try:
            if current is None:
                await self._call(edge, "POST", "/config/apps/tls/certificates/load_pem",
                                 f"load the certificate of {inp.domain}", entry)
            else:
                await self._call(edge, "PATCH", f"/id/{obj_id}",
                                 f"replace the certificate of {inp.domain}", entry)
        except EdgeRefused as exc:
            raise transient(str(exc)) from None  # e.g. a concurrent load of the same @id
        return InstallCertificateOutput(edge.name, True)

    @activity.defn(name="edge.verify_certificate")
    async def verify_certificate(self, inp: VerifyCertificateInput) -> VerifyCertificateOutput:
        """Handshake as a visitor would (SNI = the domain) and compare the served leaf."""
        edge = self._edge(inp.edge)
        served = ""
        for pause in VERIFY_PAUSES:  # Caddy swaps its certificate cache just after the write
            served = await served_leaf_sha256(edge.host, edge.https_port, inp.domain)
            if served == inp.sha256:
                break
            await asyncio.sleep(pause)
        if served != inp.sha256:
            raise transient(f"edge {edge.name} serves {served or 'no certificate'} for "
                            f"{inp.domain}, not the installed {inp.sha256}")
        return VerifyCertificateOutput(edge.name, served)


async def served_leaf_sha256(host: str, port: int, server_name: str,
                             timeout: float = 10.0) -> str:
    """The SHA-256 (hex) of the leaf an HTTPS server presents for ``server_name``; "" on a TLS
    alert (no certificate for that name)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we compare the exact leaf instead
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx, server_hostname=server_name), timeout)
    except ssl.SSLError:
        return ""
    except (OSError, TimeoutError) as exc:
        raise transient(f"{host}:{port} unreachable for a TLS handshake: {exc}") from exc
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return hashlib.sha256(der).hexdigest() if der else ""
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


class EdgeRefused(Exception):
    """The admin API answered 4xx (or Caddy's 500 for a config it cannot load)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reason(r: httpx.Response) -> str:
    try:
        return str(r.json().get("error", r.text))[:500]
    except (ValueError, AttributeError):
        return r.text[:500]
