"""DNS records as they travel between our activities and workflows, and the pure import plan.

``RRset`` is the payload type (frozen, JSON-friendly). ``plan_import`` decides what the hosted
zone serves: the domain's records, with the web records (apex and ``www``) pointed at the edge
and the original web addresses kept as the origin upstream.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype

WEB_TTL = 300  # apex/www records at the edge: short, so a later change spreads fast
WEB_TYPES = ("A", "AAAA", "CNAME")


@dataclass(frozen=True)
class RRset:
    """Every record of one name and type: ``name`` absolute ASCII with the trailing dot,
    ``contents`` in presentation format (MX ``10 mail.x.``, TXT quoted, names with the dot)."""

    name: str
    type: str
    ttl: int
    contents: tuple[str, ...]


def absolute(name: str) -> str:
    """``Example.TEST`` -> ``example.test.`` (names are case-insensitive; PowerDNS wants the dot)."""
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def plan_import(zone: str, rrsets: Iterable[RRset],
                edge_addresses: Sequence[str]) -> tuple[list[RRset], tuple[str, ...]]:
    """The rrsets the hosted zone serves and the origin (original web addresses, or the host a
    ``www`` CNAME named). Apex SOA/NS are ours and dropped, so are ``_acme-challenge`` records
    (our ACME step owns that name); ``www`` stays a CNAME when it points at the apex."""
    zone = absolute(zone)
    www = "www." + zone
    by_key: dict[tuple[str, str], RRset] = {}
    for s in rrsets:
        name, rtype = absolute(s.name), s.type.upper()
        if name == zone and rtype in ("SOA", "NS"):
            continue
        if name == "_acme-challenge." + zone or name.startswith("_acme-challenge."):
            continue
        by_key[(name, rtype)] = RRset(name, rtype, int(s.ttl), tuple(s.contents))

    def addrs(name: str) -> tuple[str, ...]:
        return tuple(c for t in ("A", "AAAA") if (name, t) in by_key for c in by_key[(name, t)].contents)

    www_cname = by_key.get((www, "CNAME"))
    www_to_apex = www_cname is not None and absolute(www_cname.contents[0]) == zone
    origin = addrs(zone) or addrs(www)
    if not origin and www_cname is not None and not www_to_apex:
        origin = (www_cname.contents[0].rstrip("."),)

    v4 = tuple(a for a in edge_addresses if ipaddress.ip_address(a).version == 4)
    v6 = tuple(a for a in edge_addresses if ipaddress.ip_address(a).version == 6)
    web_names = [zone] if www_to_apex else [zone, www]
    out = [s for (name, rtype), s in by_key.items()
           if not (name in web_names and rtype in WEB_TYPES)]
    for name in web_names:
        ttl = min([by_key[(name, t)].ttl for t in WEB_TYPES if (name, t) in by_key] + [WEB_TTL])
        out += [RRset(name, t, ttl, vals) for t, vals in (("A", v4), ("AAAA", v6)) if vals]
    return sorted(out, key=lambda s: (s.name, s.type)), tuple(origin)


def check_contents(rrsets: Iterable[RRset]) -> str:
    """"" when every record parses; else which record is wrong and why (first one found)."""
    for s in rrsets:
        if not s.contents:
            return f"{s.name} {s.type} has no value"
        if s.ttl < 0 or s.ttl > 2**31 - 1:
            return f"{s.name} {s.type} has an invalid TTL {s.ttl}"
        for c in s.contents:
            try:
                dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(s.type), c)
            except (dns.exception.DNSException, ValueError) as exc:
                return f"the record {s.name} {s.type} {c!r} is invalid ({exc})"
    return ""
