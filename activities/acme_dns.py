"""DNS-01 challenge records in our hosted DNS, for the ACME activities.

``_acme-challenge.<name>`` is a CNAME (in the customer's zone, which we host) into our
validation zone, and the TXT value lives there: ``_acme-challenge.shop.test CNAME
shop.test.acme.edgeward.net.`` + ``shop.test.acme.edgeward.net. TXT "<value>"``. A TXT set may
hold several pending values (a renewal overlapping a re-issue, both names of a certificate):
ours are merged in and taken out again, never overwriting another. After each change the
cache of both names is flushed (STACK.md: a PATCH does not flush a name reached through a
CNAME), and ``answered_everywhere`` asks each of our authoritative servers directly.
"""

from __future__ import annotations

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from activities.hosted_dns import PowerDnsClient, RRset, absolute

CHALLENGE_TTL = 60
QUERY_TIMEOUT = 2.0


def txt_quote(value: str) -> str:
    return f'"{value}"'


class ChallengeDns:
    """Challenge records on the hosted DNS (``client``); ``servers`` are the (ip, port) of every
    authoritative server that must answer before the CA is asked to look."""

    def __init__(self, client: PowerDnsClient, validation_zone: str,
                 servers: list[tuple[str, int]]) -> None:
        self._client = client
        self.validation_zone = absolute(validation_zone)
        self.servers = servers

    def owner(self, name: str) -> str:
        """``_acme-challenge.<name>.``: the name the CA queries."""
        return absolute(f"_acme-challenge.{name}")

    def target(self, name: str) -> str:
        """The validation-zone name holding the TXT for ``name``."""
        return absolute(name.rstrip(".")) + self.validation_zone

    def _txt_values(self, target: str) -> set[str]:
        for s in self._client.get_rrsets(self.validation_zone) or []:
            if s.name == target and s.type == "TXT":
                return set(s.contents)
        return set()

    def publish(self, zone: str, values: dict[str, str]) -> None:
        """Point each ``_acme-challenge.<name>`` at the validation zone and add the TXT values
        (``name -> value``) to whatever is pending there. Idempotent."""
        if self._client.get_zone(zone) is None:
            raise LookupError(f"the zone {absolute(zone)} is not on our hosted DNS; the domain's "
                              "DNS must be imported (Initiate DNS) before Auto SSL")
        # A CNAME allows no other record beside it: an old host's stale challenge TXT goes.
        self._client.delete_rrsets(zone, [(self.owner(n), "TXT") for n in values])
        self._client.replace_rrsets(zone, [
            RRset(self.owner(n), "CNAME", CHALLENGE_TTL, (self.target(n),)) for n in values])
        self._change(values, add=True)
        self._flush(values)

    def withdraw(self, values: dict[str, str], zone: str | None = None) -> None:
        """Take our TXT values out (others stay); with ``zone``, the CNAMEs go too."""
        self._change(values, add=False)
        if zone is not None and self._client.get_zone(zone) is not None:
            self._client.delete_rrsets(zone, [(self.owner(n), "CNAME") for n in values])
        self._flush(values)

    def _change(self, values: dict[str, str], add: bool) -> None:
        replace, delete = [], []
        for name, value in values.items():
            target = self.target(name)
            current = self._txt_values(target)
            wanted = current | {txt_quote(value)} if add else current - {txt_quote(value)}
            if wanted == current:
                continue
            if wanted:
                replace.append(RRset(target, "TXT", CHALLENGE_TTL, tuple(sorted(wanted))))
            else:
                delete.append((target, "TXT"))
        if replace:
            self._client.replace_rrsets(self.validation_zone, replace)
        if delete:
            self._client.delete_rrsets(self.validation_zone, delete)

    def _flush(self, values: dict[str, str]) -> None:
        for name in values:
            self._client.flush_cache(self.owner(name))
            self._client.flush_cache(self.target(name))

    def missing(self, values: dict[str, str]) -> list[str]:
        """``"<server>: <name>"`` for each server that does not yet answer a value."""
        out = []
        for ip, port in self.servers:
            for name, value in values.items():
                if value not in self._answer(ip, port, self.owner(name)):
                    out.append(f"{ip}:{port}: {self.owner(name)}")
        return out

    def _answer(self, ip: str, port: int, owner: str) -> set[str]:
        """The TXT strings ``ip:port`` answers for ``owner`` (following its CNAME)."""
        query = dns.message.make_query(owner, dns.rdatatype.TXT)
        try:
            reply = dns.query.udp(query, ip, port=port, timeout=QUERY_TIMEOUT)
        except (dns.exception.DNSException, OSError):
            return set()
        found: set[str] = set()
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                for rdata in rrset:
                    found.add(b"".join(rdata.strings).decode())
        return found
