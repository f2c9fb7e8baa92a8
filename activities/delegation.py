"""Does the parent zone delegate a domain to our name servers? (dnspython, synchronous)

The parent's answer to ``<domain> NS`` is a referral: the NS records are in the AUTHORITY
section, the AA flag is off, glue addresses are in ADDITIONAL (STACK.md). ``read_referral`` is
the plain function (the importer uses it too to find a domain's current servers);
``DelegationActivities.check`` is the activity that compares the sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import idna
from temporalio import activity

from activities.errors import invalid_input, transient

QUERY_TIMEOUT = 2.0
QUERY_TRIES = 2


def ascii_zone(domain: str) -> str:
    """A domain (Unicode or ASCII, with or without the trailing dot) as its absolute ASCII form."""
    text = domain.strip().rstrip(".")
    if not text or "/" in text or ":" in text or " " in text:
        raise ValueError(f"{domain!r} is not a domain name")
    try:
        return idna.encode(text, uts46=True).decode().lower() + "."
    except idna.IDNAError as exc:
        raise ValueError(f"{domain!r} is not a valid domain name: {exc}") from exc


@dataclass(frozen=True)
class Referral:
    """What a parent server says about a zone: its NS names and the glue addresses."""

    zone: str
    nameservers: tuple[str, ...]  # sorted, absolute, lower case
    glue: dict[str, tuple[str, ...]]  # NS name -> addresses from ADDITIONAL
    rcode: str  # NOERROR, NXDOMAIN, ...
    ds: tuple[str, ...] = ()  # DS records the parent holds (DNSSEC), when asked for


class DnsUnreachable(Exception):
    """No answer from a server within the time-out (or the port refused)."""


def ask(server: tuple[str, int], name: str, rdtype: str, timeout: float = QUERY_TIMEOUT,
        tries: int = QUERY_TRIES) -> dns.message.Message:
    """One non-recursive query (UDP, TCP on truncation); ``DnsUnreachable`` after ``tries``."""
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    last: Exception | None = None
    for _ in range(tries):
        try:
            resp, _tcp = dns.query.udp_with_fallback(q, server[0], port=server[1], timeout=timeout)
            return resp
        except (dns.exception.Timeout, OSError, dns.exception.FormError, EOFError) as exc:
            last = exc
    raise DnsUnreachable(f"{server[0]}:{server[1]} did not answer {name} {rdtype}: "
                         f"{type(last).__name__} {last}".strip())


def read_referral(parent: tuple[str, int], domain: str, with_ds: bool = False,
                  timeout: float = QUERY_TIMEOUT) -> Referral:
    """Ask ``parent`` who serves ``domain``. Raises ``DnsUnreachable``."""
    zone = ascii_zone(domain)
    resp = ask(parent, zone, "NS", timeout)
    owner = dns.name.from_text(zone)
    ns: set[str] = set()
    for section in (resp.authority, resp.answer):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.NS and rrset.name == owner:
                ns.update(rd.target.to_text().lower() for rd in rrset)
    glue: dict[str, list[str]] = {}
    for rrset in resp.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            glue.setdefault(rrset.name.to_text().lower(), []).extend(rd.address for rd in rrset)
    ds: tuple[str, ...] = ()
    if with_ds:
        dresp = ask(parent, zone, "DS", timeout)
        ds = tuple(sorted(rd.to_text() for rrset in dresp.answer
                          if rrset.rdtype == dns.rdatatype.DS for rd in rrset))
    return Referral(zone, tuple(sorted(ns)), {k: tuple(v) for k, v in glue.items()},
                    dns.rcode.to_text(resp.rcode()), ds)


@dataclass(frozen=True)
class CheckDelegationInput:
    """The domain to check; ``expected`` empty means our configured name servers."""

    domain: str
    expected: tuple[str, ...] = ()


@dataclass(frozen=True)
class DelegationStatus:
    """What the parent delegates ``domain`` to, compared with our name servers."""

    domain: str  # absolute ASCII
    delegated: bool  # True when the parent's NS set is exactly ours
    found: tuple[str, ...] = ()
    expected: tuple[str, ...] = ()
    missing: tuple[str, ...] = field(default=())  # ours, not (yet) at the parent
    extra: tuple[str, ...] = field(default=())  # at the parent, not ours (the old host's)
    detail: str = ""  # one sentence for people
    checked_at: str = ""  # ISO 8601, UTC


def compare(zone: str, referral: Referral, expected: Sequence[str]) -> DelegationStatus:
    want = tuple(sorted(n.lower().rstrip(".") + "." for n in expected))
    found = referral.nameservers
    missing = tuple(n for n in want if n not in found)
    extra = tuple(n for n in found if n not in want)
    delegated = bool(found) and not missing and not extra
    if delegated:
        detail = f"{zone} is delegated to our name servers ({', '.join(want)})"
    elif not found:
        detail = (f"the parent has no delegation for {zone} ({referral.rcode}); "
                  "is the domain registered?")
    elif not extra:
        detail = f"{zone} is delegated to only part of our name servers; add {', '.join(missing)}"
    else:
        detail = (f"{zone} is delegated to {', '.join(found)}; the customer must set the name "
                  f"servers at the registrar to {', '.join(want)}")
    return DelegationStatus(zone, delegated, found, want, missing, extra, detail,
                            datetime.now(UTC).isoformat(timespec="seconds"))


class DelegationActivities:
    """Reads the delegation from the parent zone's server (a real resolver path in production,
    the local parent instance here) and compares it with our name servers."""

    def __init__(self, parent: tuple[str, int], nameservers: Sequence[str],
                 timeout: float = QUERY_TIMEOUT) -> None:
        self._parent, self._nameservers, self._timeout = parent, tuple(nameservers), timeout

    @activity.defn(name="delegation.check")
    def check(self, inp: CheckDelegationInput) -> DelegationStatus:
        """One look at the parent's referral; unreachable parent retries."""
        try:
            zone = ascii_zone(inp.domain)
        except ValueError as exc:
            raise invalid_input(str(exc)) from exc
        try:
            referral = read_referral(self._parent, zone, timeout=self._timeout)
        except DnsUnreachable as exc:
            raise transient(f"the parent zone's server did not answer: {exc}") from exc
        return compare(zone, referral, inp.expected or self._nameservers)
