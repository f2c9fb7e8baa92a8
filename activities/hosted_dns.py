"""Our hosted DNS (PowerDNS Authoritative) over its HTTP API.

Two layers:

- ``PowerDnsClient``: a plain, synchronous client over an ``httpx.Client`` (no Temporal import
  side effects, reusable by any activity class, e.g. the ACME one for ``_acme-challenge``):
  ``get_zone``, ``ensure_zone`` (explicit SOA + our NS), ``replace_rrsets`` (batched PATCH),
  ``delete_rrsets``, ``delete_zone``, ``flush_cache``, ``set_metadata``. Every call is
  idempotent. Failures are ``PowerDnsUnavailable`` (unreachable, time-out, 5xx: worth a retry)
  or ``PowerDnsRejected`` (4xx: PowerDNS refused the request; the message names the record).
- ``HostedDnsActivities`` (below): the Temporal activities built on it, translating those
  errors at the boundary (unavailable -> retry; rejected -> non-retryable, naming the record).

Names are absolute and ASCII (``www.xn--caf-dma.test.``); contents are in PowerDNS's
presentation format: MX ``10 mail.x.``, TXT with its quotes (``"v=spf1 -all"``), CNAME targets
fully qualified with the trailing dot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio import activity

from activities.dns_records import RRset, absolute, check_contents, plan_import
from activities.errors import invalid_input, transient

__all__ = ["RRset", "absolute", "PowerDnsClient", "PowerDnsError", "PowerDnsUnavailable",
           "PowerDnsRejected", "HostedDnsActivities", "ImportZoneInput", "ImportZoneOutput",
           "DeleteZoneInput"]

DEFAULT_BATCH = 1000  # rrsets per PATCH: 5,000 records go in a handful of requests
SOA_TIMERS = "10800 3600 604800 3600"  # refresh retry expire minimum
DEFAULT_TTL = 3600


class PowerDnsError(Exception):
    """Root of the client's errors."""


class PowerDnsUnavailable(PowerDnsError):
    """The API did not answer, timed out or answered 5xx: retrying may help."""


class PowerDnsRejected(PowerDnsError):
    """PowerDNS refused the request (4xx). ``status`` and PowerDNS's own ``reason``."""

    def __init__(self, message: str, status: int, reason: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


def zone_id(zone: str) -> str:
    """The API's zone id: the absolute name with ``/`` escaped as ``=2F``."""
    return absolute(zone).replace("/", "=2F")


class PowerDnsClient:
    """A PowerDNS Authoritative API client for one server (``api_url`` ends in
    ``/api/v1/servers/localhost``). The caller owns ``http`` and its lifetime."""

    def __init__(self, http: httpx.Client, api_url: str, api_key: str,
                 timeout: float = 30.0) -> None:
        self._http = http
        self._base = api_url.rstrip("/")
        self._headers = {"X-API-Key": api_key}
        self._timeout = timeout

    # -- transport -------------------------------------------------------------------------
    def _call(self, method: str, path: str, what: str, json: Any = None,
              ok_missing: bool = False) -> httpx.Response | None:
        try:
            r = self._http.request(method, self._base + path, json=json, headers=self._headers,
                                   timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise PowerDnsUnavailable(f"PowerDNS API {self._base} unreachable while trying to "
                                      f"{what}: {type(exc).__name__}") from exc
        if r.status_code == 404 and ok_missing:
            return None
        if r.status_code >= 500:
            raise PowerDnsUnavailable(f"PowerDNS API answered {r.status_code} while trying to "
                                      f"{what}: {_reason(r)}")
        if r.status_code >= 400:
            reason = _reason(r)
            raise PowerDnsRejected(f"PowerDNS refused to {what}: {reason}", r.status_code, reason)
        return r

    # -- zones -----------------------------------------------------------------------------
    def list_zones(self) -> list[str]:
        r = self._call("GET", "/zones", "list zones")
        assert r is not None
        return [z["name"] for z in r.json()]

    def get_zone(self, zone: str) -> dict[str, Any] | None:
        """The zone with its rrsets (PowerDNS's JSON), or None when it does not exist."""
        r = self._call("GET", f"/zones/{zone_id(zone)}", f"read zone {absolute(zone)}",
                       ok_missing=True)
        return None if r is None else r.json()

    def get_rrsets(self, zone: str) -> list[RRset] | None:
        """The zone's rrsets as ``RRset`` (sorted by name, type), or None when it does not exist."""
        data = self.get_zone(zone)
        if data is None:
            return None
        out = [RRset(s["name"], s["type"], int(s["ttl"]),
                     tuple(sorted(rec["content"] for rec in s["records"])))
               for s in data.get("rrsets", []) if s.get("records")]
        return sorted(out, key=lambda s: (s.name, s.type))

    def ensure_zone(self, zone: str, nameservers: Sequence[str], hostmaster: str = "",
                    ttl: int = DEFAULT_TTL) -> bool:
        """Create ``zone`` (kind Native, explicit SOA, NS = ``nameservers``) unless it exists.

        True when it was created. An existing zone keeps its records, but its apex NS is set
        to ``nameservers`` (so a half-finished earlier call ends in the same zone).
        """
        zone = absolute(zone)
        ns = [absolute(n) for n in nameservers]
        if not ns:
            raise ValueError("a zone needs at least one name server")
        contact = absolute(hostmaster) if hostmaster else "hostmaster." + ns[0].split(".", 1)[1]
        soa = RRset(zone, "SOA", ttl, (f"{ns[0]} {contact} 1 {SOA_TIMERS}",))
        nsset = RRset(zone, "NS", ttl, tuple(ns))
        if self.get_zone(zone) is not None:
            self.replace_rrsets(zone, [nsset])
            return False
        body = {"name": zone, "kind": "Native", "soa_edit_api": "DEFAULT", "nameservers": [],
                "rrsets": [_rrset_json(soa, None), _rrset_json(nsset, None)]}
        try:
            self._call("POST", "/zones", f"create zone {zone}", json=body)
        except PowerDnsRejected as exc:
            if exc.status == 409:  # created meanwhile by a concurrent attempt
                self.replace_rrsets(zone, [nsset])
                return False
            raise
        return True

    def delete_zone(self, zone: str) -> bool:
        """Delete the zone; False when it was already gone."""
        r = self._call("DELETE", f"/zones/{zone_id(zone)}", f"delete zone {absolute(zone)}",
                       ok_missing=True)
        return r is not None

    # -- records ---------------------------------------------------------------------------
    def replace_rrsets(self, zone: str, rrsets: Iterable[RRset],
                       batch_size: int = DEFAULT_BATCH) -> int:
        """Set each rrset to exactly these records (PATCH ``REPLACE``), ``batch_size`` per
        request. Returns the number of requests sent."""
        return self._patch(zone, [_rrset_json(s, "REPLACE") for s in rrsets], batch_size)

    def delete_rrsets(self, zone: str, keys: Iterable[tuple[str, str]],
                      batch_size: int = DEFAULT_BATCH) -> int:
        """Delete the rrsets ``(name, type)``; deleting one that is absent is fine."""
        changes = [{"name": absolute(n), "type": t.upper(), "changetype": "DELETE"} for n, t in keys]
        return self._patch(zone, changes, batch_size)

    def _patch(self, zone: str, changes: list[dict[str, Any]], batch_size: int) -> int:
        sent = 0
        for i in range(0, len(changes), batch_size):
            batch = changes[i:i + batch_size]
            what = f"change {len(batch)} rrsets in zone {absolute(zone)}"
            self._call("PATCH", f"/zones/{zone_id(zone)}", what, json={"rrsets": batch})
            sent += 1
        return sent

    def set_metadata(self, zone: str, kind: str, values: Sequence[str]) -> None:
        """Set one metadata kind of the zone (e.g. ``ALLOW-AXFR-FROM``)."""
        self._call("PUT", f"/zones/{zone_id(zone)}/metadata/{kind}", f"set {kind} on {zone}",
                   json={"kind": kind, "metadata": list(values)})

    def flush_cache(self, name: str) -> int:
        """Drop cached answers for ``name`` and below (STACK.md cache trap: a PATCH does not
        flush a name that reached the changed zone through a CNAME). Returns the count."""
        r = self._call("PUT", f"/cache/flush?domain={absolute(name)}", f"flush cache of {name}")
        assert r is not None
        return int(r.json().get("count", 0))


def _rrset_json(s: RRset, changetype: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": absolute(s.name), "type": s.type.upper(), "ttl": int(s.ttl),
                            "records": [{"content": c, "disabled": False} for c in s.contents]}
    if changetype:
        body["changetype"] = changetype
    return body


def _reason(r: httpx.Response) -> str:
    try:
        return str(r.json().get("error", r.text))[:500]
    except ValueError:
        return r.text[:500] or r.reason_phrase


# -- the Temporal activities ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportZoneInput:
    """Create (or bring up to date) the hosted zone of ``zone`` from its current ``rrsets``."""

    zone: str  # absolute ASCII
    rrsets: tuple[RRset, ...]  # as read from the old host (apex SOA/NS are ignored)
    batch_size: int = DEFAULT_BATCH


@dataclass(frozen=True)
class ImportZoneOutput:
    """What the hosted zone serves now, and where the site's origin is."""

    zone: str
    nameservers: tuple[str, ...]  # ours: what the customer sets at the registrar
    rrsets: tuple[RRset, ...]  # every imported rrset (apex SOA/NS excluded), web ones at the edge
    origin_addresses: tuple[str, ...]  # the original web addresses (or host), the edge's upstream
    created: bool  # False when the zone existed (a retry or a re-import)
    requests: int  # PATCH requests sent


@dataclass(frozen=True)
class DeleteZoneInput:
    zone: str


class HostedDnsActivities:
    """Writes to our hosted DNS. Every activity is idempotent: run twice, same zone."""

    def __init__(self, client: PowerDnsClient, nameservers: Sequence[str],
                 edge_addresses: Sequence[str], hostmaster: str = "") -> None:
        self._client = client
        self._ns = tuple(absolute(n) for n in nameservers)
        self._edges = tuple(edge_addresses)
        self._hostmaster = hostmaster

    @activity.defn(name="hosted_dns.import_zone")
    def import_zone(self, inp: ImportZoneInput) -> ImportZoneOutput:
        """Create the zone (explicit SOA, our NS), point apex and www at the edge, REPLACE every
        other rrset in batches and DELETE rrsets an earlier import left that are gone now.
        A record PowerDNS (or our check) refuses fails the activity for good, naming it; a zone
        this call created is then removed again, so nothing is left half-imported."""
        zone = absolute(inp.zone)
        rrsets, origin = plan_import(zone, inp.rrsets, self._edges)
        bad = check_contents(rrsets)
        if bad:
            raise invalid_input(f"cannot import {zone}: {bad}")
        created = False
        try:
            created = self._client.ensure_zone(zone, self._ns, self._hostmaster)
            keep = {(s.name, s.type) for s in rrsets} | {(zone, "SOA"), (zone, "NS")}
            stale = [(s.name, s.type) for s in self._client.get_rrsets(zone) or []
                     if (s.name, s.type) not in keep and not s.name.startswith("_acme-challenge.")]
            requests = self._client.delete_rrsets(zone, stale, inp.batch_size)
            requests += self._client.replace_rrsets(zone, rrsets, inp.batch_size)
            activity.heartbeat(requests)
        except PowerDnsUnavailable as exc:
            raise transient(str(exc)) from exc
        except PowerDnsRejected as exc:
            if created:
                self._client.delete_zone(zone)
            raise invalid_input(f"cannot import {zone}: {exc}") from exc
        return ImportZoneOutput(zone, self._ns, tuple(rrsets), origin, created, requests)

    @activity.defn(name="hosted_dns.delete_zone")
    def delete_zone(self, inp: DeleteZoneInput) -> bool:
        """Remove the hosted zone (a website removed or an import undone); False if absent."""
        try:
            return self._client.delete_zone(inp.zone)
        except PowerDnsUnavailable as exc:
            raise transient(str(exc)) from exc
        except PowerDnsRejected as exc:
            raise invalid_input(str(exc)) from exc
