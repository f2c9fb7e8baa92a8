"""Read a domain's current records from its current authoritative servers (dnspython, sync).

The parent's referral names the servers (glue gives their addresses). The zone is read by AXFR
where the old host allows it, otherwise by a scan of the apex and common names over the types
A, AAAA, CNAME, MX, TXT, CAA, SRV. The result is faithful (several values per name, TTLs, long
or quoted TXT, IDN owners in their ASCII form) and comes with a readiness report.

NS records carry no port, so the port the old host answers on is configuration
(``nameserver_port``: 53 in production, ``settings.oldhost_dns_port`` locally).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.xfr
import dns.zone
from temporalio import activity

from activities.delegation import DnsUnreachable, ascii_zone, ask, read_referral
from activities.dns_records import RRset
from activities.dns_scan_names import (
    CNAME_PROXIES,
    PROXY_NETWORKS,
    SCAN_NAMES,
    SCAN_TYPES,
    SRV_NAMES,
    TXT_ONLY_NAMES,
)
from activities.errors import invalid_input, permanent, transient

AXFR_LIFETIME = 60.0
SCAN_THREADS = 8
# Never imported: the apex SOA/NS are ours, DNSSEC material is re-made by the signer (if ever).
SKIP_TYPES = frozenset({"SOA", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY",
                        "TSIG", "OPT"})


@dataclass(frozen=True)
class ReadZoneInput:
    """The domain to read, Unicode or ASCII (``café.test`` or ``xn--caf-dma.test``)."""

    domain: str


@dataclass(frozen=True)
class ReadinessReport:
    """What stands in the way of switching the domain to us, each line for people."""

    unreadable: tuple[str, ...] = ()  # names (and types) we could not read, with the reason
    proxy_records: tuple[str, ...] = ()  # records that point at another proxy/CDN already
    parent_ds: tuple[str, ...] = ()  # DS at the parent: DNSSEC would break the switch
    caa_blocks: tuple[str, ...] = ()  # CAA records that refuse our CA
    notes: tuple[str, ...] = ()  # anything else worth knowing (e.g. how the zone was read)

    def blocking(self) -> tuple[str, ...]:
        """The findings that will make the switch or the certificate fail."""
        return self.parent_ds + self.caa_blocks


@dataclass(frozen=True)
class ReadZoneOutput:
    """The domain's current records (without the apex SOA and NS) and the readiness report."""

    zone: str  # absolute ASCII
    method: str  # "axfr" or "scan"
    source_nameservers: tuple[str, ...]  # the current servers per the parent's referral
    rrsets: tuple[RRset, ...]
    readiness: ReadinessReport


@dataclass(frozen=True)
class _Server:
    name: str
    address: tuple[str, int]


class DnsImportActivities:
    """Reads zones from their current DNS host. ``parent`` is the parent zone's server (a stub
    for "the public DNS" locally); ``ca_identities`` are our CA's CAA issuer domains."""

    def __init__(self, parent: tuple[str, int], nameserver_port: int = 53,
                 ca_identities: Sequence[str] = ("letsencrypt.org",), timeout: float = 2.0) -> None:
        self._parent, self._port = parent, nameserver_port
        self._ca = tuple(c.lower() for c in ca_identities)
        self._timeout = timeout

    @activity.defn(name="dns_import.read_zone")
    def read_zone(self, inp: ReadZoneInput) -> ReadZoneOutput:
        """AXFR, else the scan. Unreachable parent retries; an unreachable old host or a domain
        the parent does not delegate is a non-retryable failure that says what to fix."""
        try:
            zone = ascii_zone(inp.domain)
        except ValueError as exc:
            raise invalid_input(str(exc)) from exc
        try:
            ref = read_referral(self._parent, zone, with_ds=True, timeout=self._timeout)
        except DnsUnreachable as exc:
            raise transient(f"the parent zone's server did not answer: {exc}") from exc
        if not ref.nameservers:
            raise permanent(f"the parent zone does not delegate {zone} ({ref.rcode}); check the "
                            "domain name, or that it is registered")
        servers = self._usable_servers(zone, ref.nameservers, ref.glue)
        notes: list[str] = []
        rrsets = self._axfr(zone, servers)
        method = "axfr"
        unreadable: list[str] = []
        if rrsets is None:
            method = "scan"
            notes.append("the current DNS host refused a zone transfer (AXFR): common names were "
                         "scanned, records under other names must be added by hand")
            rrsets, unreadable = self._scan(zone, servers)
        report = readiness(zone, rrsets, unreadable, ref.ds, self._ca, notes)
        return ReadZoneOutput(zone, method, ref.nameservers, tuple(rrsets), report)

    # -- finding the servers ---------------------------------------------------------------
    def _usable_servers(self, zone: str, names: Sequence[str],
                        glue: dict[str, tuple[str, ...]]) -> list[_Server]:
        problems: list[str] = []
        candidates: list[_Server] = []
        for ns in names:
            addrs = glue.get(ns) or self._addresses(ns)
            if not addrs:
                problems.append(f"{ns}: no address found")
            candidates += [_Server(ns, (a, self._port)) for a in addrs]
        usable: list[_Server] = []
        seen: set[tuple[str, int]] = set()
        for srv in candidates:
            if srv.address in seen:  # several NS names on one address: ask it once
                continue
            seen.add(srv.address)
            try:
                resp = ask(srv.address, zone, "SOA", self._timeout, tries=1)
            except DnsUnreachable as exc:
                problems.append(f"{srv.name}: {exc}")
                continue
            if resp.rcode() != dns.rcode.NOERROR or not resp.flags & dns.flags.AA:
                problems.append(f"{srv.name} at {srv.address[0]}:{srv.address[1]} does not serve "
                                f"{zone} ({dns.rcode.to_text(resp.rcode())})")
                continue
            usable.append(srv)
        if not usable:
            raise permanent(f"none of the current name servers of {zone} answered for it "
                            f"({'; '.join(problems)}); the current DNS host must answer to "
                            "import the records (or add the website without DNS import)")
        return usable

    def _addresses(self, ns: str) -> tuple[str, ...]:
        """An NS without glue: ask the parent (it may serve the name); else nothing."""
        out: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                resp = ask(self._parent, ns, rdtype, self._timeout, tries=1)
            except DnsUnreachable:
                continue
            out += [rd.address for rrset in resp.answer if rrset.rdtype == dns.rdatatype.from_text(
                rdtype) for rd in rrset]
        return tuple(out)

    # -- reading the zone ------------------------------------------------------------------
    def _axfr(self, zone: str, servers: Sequence[_Server]) -> list[RRset] | None:
        for srv in servers:
            z = dns.zone.Zone(zone, relativize=False)
            try:
                dns.query.inbound_xfr(srv.address[0], z, port=srv.address[1],
                                      timeout=self._timeout, lifetime=AXFR_LIFETIME)
            except (dns.xfr.TransferError, dns.exception.DNSException, OSError, EOFError):
                continue
            return zone_rrsets(zone, z)
        return None

    def _scan(self, zone: str, servers: Sequence[_Server]) -> tuple[list[RRset], list[str]]:
        jobs = [(n, SCAN_TYPES) for n in SCAN_NAMES] + [(n, ("TXT",)) for n in TXT_ONLY_NAMES]
        jobs += [(n, ("SRV",)) for n in SRV_NAMES]
        found: dict[tuple[str, str], RRset] = {}
        unreadable: list[str] = []
        with ThreadPoolExecutor(SCAN_THREADS) as pool:
            # results arrive in order as names finish: heartbeat on each, a slow host is no hang
            for done, (rrsets, problems) in enumerate(
                    pool.map(lambda job: self._scan_name(zone, servers, *job), jobs)):
                for s in rrsets:
                    found.setdefault((s.name, s.type), s)
                unreadable += problems
                if activity.in_activity():
                    activity.heartbeat(f"scanned {done + 1}/{len(jobs)} names")
        return sorted(found.values(), key=lambda s: (s.name, s.type)), unreadable

    def _scan_name(self, zone: str, servers: Sequence[_Server], label: str,
                   types: Iterable[str]) -> tuple[list[RRset], list[str]]:
        name = zone if label == "@" else f"{label}.{zone}"
        owner = dns.name.from_text(name)
        out: list[RRset] = []
        problems: list[str] = []
        for rdtype in types:
            resp = None
            for srv in servers:
                try:
                    resp = ask(srv.address, name, rdtype, self._timeout)
                    break
                except DnsUnreachable:
                    continue
            if resp is None:
                problems.append(f"{name} {rdtype}: no server answered")
                continue
            rcode = resp.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                break  # the name does not exist: no other type will
            if rcode != dns.rcode.NOERROR:
                problems.append(f"{name} {rdtype}: {dns.rcode.to_text(rcode)}")
                continue
            owned = [r for r in resp.answer if r.name == owner]
            out += [_rrset(r) for r in owned if dns.rdatatype.to_text(r.rdtype) not in SKIP_TYPES]
            if any(r.rdtype == dns.rdatatype.CNAME for r in owned):
                break  # a CNAME owner has no other data
        return out, problems


def _rrset(r: dns.rrset.RRset) -> RRset:
    return RRset(r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype), int(r.ttl),
                 tuple(sorted(rd.to_text() for rd in r)))


def zone_rrsets(zone: str, z: dns.zone.Zone) -> list[RRset]:
    """Every rrset of a transferred zone except the apex SOA and NS and DNSSEC material."""
    apex = dns.name.from_text(zone)
    out: list[RRset] = []
    for name, node in z.nodes.items():
        owner = name if name.is_absolute() else name.derelativize(apex)
        for rds in node.rdatasets:
            rdtype = dns.rdatatype.to_text(rds.rdtype)
            if rdtype in SKIP_TYPES or (owner == apex and rdtype == "NS"):
                continue
            out.append(RRset(owner.to_text().lower(), rdtype, int(rds.ttl),
                             tuple(sorted(rd.to_text(origin=apex, relativize=False) for rd in rds))))
    return sorted(out, key=lambda s: (s.name, s.type))


def readiness(zone: str, rrsets: Sequence[RRset], unreadable: Sequence[str], ds: Sequence[str],
              ca_identities: Sequence[str], notes: Sequence[str] = ()) -> ReadinessReport:
    """The readiness report of one read zone (pure, so it is unit-tested on its own)."""
    proxies: list[str] = []
    for s in rrsets:
        for value in s.contents:
            hit = proxy_of(s.type, value)
            if hit:
                proxies.append(f"{s.name} {s.type} {value} ({hit})")
    caa = [s for s in rrsets if s.name == zone and s.type == "CAA"]
    blocks: list[str] = []
    issuers = [_caa_issuer(v) for s in caa for v in s.contents if _caa_tag(v) == "issue"]
    if issuers and not any(i in ca_identities for i in issuers):
        allowed = ", ".join(sorted({i or '";" (nobody)' for i in issuers}))
        blocks.append(f"{zone} CAA allows only {allowed}; add "
                      f'0 issue "{ca_identities[0]}" or our certificate cannot be issued')
    more = list(notes)
    web = [s for s in rrsets if s.name in (zone, "www." + zone) and s.type in ("A", "AAAA", "CNAME")]
    if not web:
        more.append(f"no address record for {zone} or www.{zone}: give the origin address by hand")
    ds_lines = tuple(f"{zone} DS {d}: turn DNSSEC off at the registrar before switching name "
                     "servers, or the domain stops resolving" for d in ds)
    return ReadinessReport(tuple(unreadable), tuple(proxies), ds_lines, tuple(blocks), tuple(more))


def proxy_of(rdtype: str, value: str) -> str:
    """The proxy/CDN a record points at ("" when none)."""
    if rdtype in ("A", "AAAA"):
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return ""
        for net, who in PROXY_NETWORKS:
            if ip.version == net.version and ip in net:
                return who
    elif rdtype == "CNAME":
        target = value.lower().rstrip(".") + "."
        for suffix, who in CNAME_PROXIES:
            if target.endswith("." + suffix) or target == suffix:
                return who
    return ""


def _caa_tag(value: str) -> str:
    parts = value.split(None, 2)
    return parts[1].lower() if len(parts) == 3 else ""


def _caa_issuer(value: str) -> str:
    raw = value.split(None, 2)[2].strip().strip('"')
    return raw.split(";", 1)[0].strip().lower()
